"""What the batch grader writes: per student results.json (Gradescope's autograder schema)
and a feedback page, for the class grades.csv and the end-of-run summary.

Pure functions of data: a student's verdicts (autograder.grading.plugin.verdict_of dicts), their
notes (one-line problems: a module missing, a zip refused, ...) and the assignments'
maxima, so that a student with nothing graded in an assignment still gets 0 / max.
Every string a student can influence (messages quote their exceptions, notes quote their
file names) is escaped for the format it lands in, and capped in length.
"""
import csv
import html
import io
import os
import re
import tempfile
import unicodedata
from pathlib import Path

MAX_TEXT = 2000  # characters of one message, hint or note shown
SEPARATOR = " · "
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([!-%'-/:;=?@\[-`{-~])")  # ASCII punctuation but & < >

_UMASK = os.umask(0)
os.umask(_UMASK)


def clean(text) -> str:
    """One line of at most MAX_TEXT characters, control characters shown as U+FFFD."""
    text = " ".join(str(text).split())
    if not text.isprintable():  # rare, and the character by character look is slow
        text = "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
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


def grade_row(student: str, verdicts: list[dict], notes: list[str],
              max_points: dict[str, int]) -> dict:
    """The student's line in grades.csv and the run summary."""
    table = totals(verdicts, max_points)
    return {"student": student,
            "points": {a: t[0] for a, t in table.items()},
            "max_points": {a: t[1] for a, t in table.items()},
            "total": sum(t[0] for t in table.values()),
            "max_total": sum(t[1] for t in table.values()),
            "failed": sum(t[2] for t in table.values()),
            "notes": [clean(n) for n in notes]}


def results_json(student: str, verdicts: list[dict], notes: list[str],
                 max_points: dict[str, int]) -> dict:
    """Gradescope's results.json: one test per verdict, plus one failed test per assignment
    whose points were not (all) graded, so that the tests' scores add up to `score` and
    their maxima to `max_score`. Every string is plain text (`output_format` "text"):
    Gradescope would otherwise render the top-level output as HTML. `visibility` "visible"
    shows every public test to the student as soon as it is graded: the feedback is the
    point; the instructor's private tests wait until the grades are published."""
    table = totals(verdicts, max_points)
    tests = []
    for assignment, (_, _, _, ungraded) in table.items():
        for v in (v for v in verdicts if v["assignment"] == assignment):
            test = {"name": name_of(v), "score": number(v["points"]),
                    "max_score": number(v["max_points"]),
                    "status": "passed" if v["passed"] else "failed", "output": output_of(v)}
            if v["nodeid"].startswith("private/"):
                # An instructor's private test is not shown before the grades are published:
                # its message would hand its cases to the students still working.
                test["visibility"] = "after_published"
            tests.append(test)
        if ungraded:
            tests.append({"name": f"{assignment}{SEPARATOR}ungraded tests", "score": 0,
                          "max_score": number(ungraded), "status": "failed",
                          "output": ungraded_message(notes)})
    lines = [clean(n) for n in notes]
    if lines:
        lines.append("")
    lines += [f"{a}: {number(p)} / {number(m)} points" for a, (p, m, _, _) in table.items()]
    return {"score": number(sum(t[0] for t in table.values())),
            "max_score": number(sum(t[1] for t in table.values())),
            "output": "\n".join(lines),
            "output_format": "text",
            "visibility": "visible",
            "test_output_format": "text",
            "test_name_format": "text",
            "extra_data": {"student": student},
            "tests": tests}


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #1d1d1f; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid #ddd; }
th { background: #f4f4f6; }
td.points, th.points { text-align: right; white-space: nowrap; }
tr.failed td { background: #fff4f3; }
.outcome { font-weight: 600; white-space: nowrap; }
tr.passed .outcome { color: #1a7f37; } tr.failed .outcome { color: #c0392b; }
.notes { background: #fff8e1; border: 1px solid #f0c36d; padding: .6em 1em; border-radius: 4px; }
.hint { color: #555; }
code { font-family: ui-monospace, monospace; font-size: .95em; word-break: break-word; }
"""


def esc(text) -> str:
    return html.escape(clean(text), quote=True)


def feedback_html(student: str, verdicts: list[dict], notes: list[str],
                  max_points: dict[str, int]) -> str:
    """A self-contained page (inline CSS, no script, nothing fetched) that a student can read.
    The content security policy forbids scripts and remote loads even if a future edit
    forgot to escape something."""
    table = totals(verdicts, max_points)
    total = sum(t[0] for t in table.values())
    most = sum(t[1] for t in table.values())
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" '
           "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Feedback for {esc(student)}</title>", f"<style>{STYLE}</style>", "</head>",
           "<body>", f"<h1>Feedback for {esc(student)}: {number(total)} / {number(most)} points</h1>"]
    if notes:
        out.append('<div class="notes"><strong>Notes on this submission</strong><ul>')
        out += [f"<li>{esc(n)}</li>" for n in notes]
        out.append("</ul></div>")
    out.append('<table><tr><th>Assignment</th><th class="points">Points</th><th>Failing tests</th></tr>')
    for assignment, (points, top, failed, ungraded) in table.items():
        out.append(f'<tr><td><a href="#{esc(assignment)}">{esc(assignment)}</a></td>'
                   f'<td class="points">{number(points)} / {number(top)}</td>'
                   f"<td>{failed + bool(ungraded)}</td></tr>")
    out.append(f'<tr><th>Total</th><th class="points">{number(total)} / {number(most)}</th><th></th></tr>')
    out.append("</table>")
    for assignment, (points, top, _, ungraded) in table.items():
        out.append(f'<h2 id="{esc(assignment)}">{esc(assignment)}: {number(points)} / {number(top)} points</h2>')
        out.append('<table><tr><th>Outcome</th><th>Function</th><th>Property</th>'
                   '<th class="points">Points</th><th>What happened</th></tr>')
        for v in (v for v in verdicts if v["assignment"] == assignment):
            outcome = "passed" if v["passed"] else "failed"
            detail = "" if v["passed"] else (
                f"{esc(v['message']) or 'failed'}"
                + (f'<br><span class="hint">Hint: {esc(v["hint"])}</span>' if v.get("hint") else ""))
            out.append(f'<tr class="{outcome}"><td class="outcome">{outcome}</td>'
                       f"<td><code>{esc(v['function'])}</code></td><td>{esc(v['property'])}</td>"
                       f'<td class="points">{number(v["points"])} / {number(v["max_points"])}</td>'
                       f"<td>{detail}</td></tr>")
        if ungraded:
            out.append(f'<tr class="failed"><td class="outcome">failed</td><td></td>'
                       f"<td>ungraded tests</td><td class=\"points\">0 / {number(ungraded)}</td>"
                       f"<td>{esc(ungraded_message(notes))}</td></tr>")
        out.append("</table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def md(text) -> str:
    """Literal text in Markdown: ASCII punctuation backslash-escaped and & < > as entities,
    so nothing a student wrote becomes a link, an image, a table cell or raw HTML."""
    text = MARKDOWN_SPECIAL.sub(r"\\\1", clean(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def feedback_markdown(student: str, verdicts: list[dict], notes: list[str],
                      max_points: dict[str, int]) -> str:
    """The feedback page's content as Markdown."""
    table = totals(verdicts, max_points)
    total = sum(t[0] for t in table.values())
    most = sum(t[1] for t in table.values())
    out = [f"# Feedback for {md(student)}: {number(total)} / {number(most)} points", ""]
    if notes:
        out += ["**Notes on this submission**", ""] + [f"- {md(n)}" for n in notes] + [""]
    out += ["| Assignment | Points | Failing tests |", "|---|---:|---:|"]
    for assignment, (points, top, failed, ungraded) in table.items():
        out.append(f"| {md(assignment)} | {number(points)} / {number(top)} | {failed + bool(ungraded)} |")
    out.append(f"| **Total** | {number(total)} / {number(most)} | |")
    for assignment, (points, top, _, ungraded) in table.items():
        out += ["", f"## {md(assignment)}: {number(points)} / {number(top)} points", "",
                "| Outcome | Function | Property | Points | What happened |", "|---|---|---|---:|---|"]
        for v in (v for v in verdicts if v["assignment"] == assignment):
            detail = "" if v["passed"] else md(v["message"] or "failed") + (
                f"<br>*Hint:* {md(v['hint'])}" if v.get("hint") else "")
            out.append(f"| {'passed' if v['passed'] else '**failed**'} | {md(v['function'])} | "
                       f"{md(v['property'])} | {number(v['points'])} / {number(v['max_points'])} | {detail} |")
        if ungraded:
            out.append(f"| **failed** | | ungraded tests | 0 / {number(ungraded)} | "
                       f"{md(ungraded_message(notes))} |")
    return "\n".join(out) + "\n"


def csv_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix a single quote)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def grades_csv(rows: list[dict], assignments: list[str]) -> str:
    """One line a student (rows from grade_row): student, points per assignment, total,
    max_total, the totals over `assignments` only."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *assignments, "total", "max_total"])
    for row in sorted(rows, key=lambda r: r["student"]):
        points = [number(row["points"].get(a, 0)) for a in assignments]
        most = sum(row["max_points"].get(a, 0) for a in assignments)
        writer.writerow([csv_cell(row["student"]), *points, number(sum(points)), number(most)])
    return buffer.getvalue()


def summary_lines(rows: list[dict], assignments: list[str], listed: int = 20) -> list[str]:
    """The end-of-run table: mean points per assignment, then the students with problems."""
    count = len(rows)
    lines = [f"{count} student{'s' * (count != 1)} graded"]
    if not count:
        return lines
    width = max(len(a) for a in [*assignments, "total"]) + 2
    lines.append(f"{'assignment':<{width}}{'mean':>8}   {'max':<6}{'full marks':>10}")
    for assignment in assignments:
        means = [r["points"].get(assignment, 0) for r in rows]
        most = max(r["max_points"].get(assignment, 0) for r in rows)
        full = sum(r["points"].get(assignment, 0) >= most > 0 for r in rows)
        lines.append(f"{assignment:<{width}}{sum(means) / count:>8.1f} / {number(most):<6}{full:>10}")
    means = [sum(r["points"].get(a, 0) for a in assignments) for r in rows]
    most = max(sum(r["max_points"].get(a, 0) for a in assignments) for r in rows)
    lines.append(f"{'total':<{width}}{sum(means) / count:>8.1f} / {number(most)}")
    troubled = [r for r in rows if r["notes"]]
    if troubled:
        lines.append(f"{len(troubled)} student{'s' * (len(troubled) != 1)} with problems:")
        for row in troubled[:listed]:
            first = row["notes"][0]
            more = f" (+{len(row['notes']) - 1} more)" if len(row["notes"]) > 1 else ""
            lines.append(f"  {clean(row['student'])}: {first[:120]}{more}")
        if len(troubled) > listed:
            lines.append(f"  ... and {len(troubled) - listed} more")
    return lines


def write_atomic(path: Path, text: str | bytes):
    """Replace `path` with `text` (UTF-8, or bytes as they are) all at once: a reader, or a
    run resumed after a crash, sees the old file or the new one, never half of one. The
    folder must exist."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(text.encode("utf-8") if isinstance(text, str) else text)
            os.fchmod(stream.fileno(), 0o666 & ~_UMASK)  # as open() would create it
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:
        folder = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(folder)  # the rename itself survives a crash
    except OSError:
        pass
    finally:
        os.close(folder)
