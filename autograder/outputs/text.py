"""What every output shows of a verdict: one clean line of text, points as numbers, and
the per-assignment totals (an assignment with nothing graded still counts 0 / max).

Every string a student can influence (messages quote their exceptions, notes quote their
file names) goes through `clean` before any writer escapes it for its format.
"""
import unicodedata

MAX_TEXT = 2000  # characters of one message, hint or note shown
SEPARATOR = " · "


# Characters that are invisible or move the text around them: a student's exception message
# holding U+202E (right-to-left override) could make a feedback line read as something else.
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean(text) -> str:
    """One line of at most MAX_TEXT characters, invisible and control characters shown as
    visible escapes (\\u202e)."""
    text = " ".join(str(text).split())
    if not text.isprintable():  # rare, and the character by character look is slow
        text = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in HIDDEN_CATEGORIES else c
                       for c in text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def number(value) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else round(value, 2)


def assignments_of(verdicts: list[dict], max_points: dict[str, int]) -> list[str]:
    return sorted(set(max_points) | {v["assignment"] for v in verdicts})


def totals(verdicts: list[dict], max_points: dict[str, int]) -> dict[str, tuple]:
    """assignment -> (points, max points, failed tests, ungraded points), in name order.

    The maximum is the assignment's, not the sum of the verdicts at hand: points for which
    no verdict came back (the grader gave up on the student) are `ungraded`, and count as 0.
    """
    table = {}
    for assignment in assignments_of(verdicts, max_points):
        mine = [v for v in verdicts if v["assignment"] == assignment]
        graded = sum(v["max_points"] for v in mine)
        most = max(max_points.get(assignment, 0), graded)
        table[assignment] = (sum(v["points"] for v in mine), most,
                             sum(not v["passed"] for v in mine), max(most - graded, 0))
    return table


def name_of(verdict: dict) -> str:
    return clean(f"{verdict['assignment']}{SEPARATOR}{verdict['function']}: {verdict['property']}")


def output_of(verdict: dict) -> str:
    if verdict["passed"]:
        return ""
    lines = [clean(verdict["message"]) or "failed"]
    if verdict.get("hint"):
        lines.append("hint: " + clean(verdict["hint"]))
    return "\n".join(lines)


def ungraded_message(notes: list[str]) -> str:
    reason = "; ".join(clean(n) for n in notes) if notes else "no test result came back"
    return clean(f"not graded: {reason}")


def is_private(verdict: dict) -> bool:
    """An instructor's private test (private/NN_name/test_*.py)."""
    return verdict["nodeid"].startswith("private/")


def shown(verdicts: list[dict], published: bool) -> tuple[list[dict], dict[str, tuple]]:
    """What a student may see: the verdicts listed one by one, and per assignment the
    hidden checks summed up, (tests, points, max points).

    Until the grades are published a private test is only counted: its name, message and
    hint would hand its cases to the students still working. Published, everything is
    listed, held-out failures with the example that broke them (`withheld`)."""
    if published:
        return verdicts, {}
    listed, hidden = [], {}
    for v in verdicts:
        if is_private(v):
            tests, points, most = hidden.get(v["assignment"], (0, 0, 0))
            hidden[v["assignment"]] = (tests + 1, points + v["points"], most + v["max_points"])
        else:
            listed.append({key: value for key, value in v.items() if key != "withheld"})
    return listed, hidden


def withheld_text(verdict: dict) -> str:
    """A held-out failure's example and what went wrong on it, once published; else ''."""
    withheld = verdict.get("withheld")
    if not withheld:
        return ""
    return clean(f"held-out example: {withheld['example'] or '(not shown)'}; {withheld['message']}")


def hidden_name(assignment: str) -> str:
    return f"{assignment}{SEPARATOR}hidden checks"


def hidden_text(tests: int) -> str:
    return (f"{tests} check{'s' * (tests != 1)} the instructor keeps hidden until the grades "
            "are published")
