"""A student's feedback pages: a self-contained HTML page and the same content as Markdown,
both rendered from one model by templates (templates/, Jinja2).

The page reads top-down: the score, the figures drawn from the student's own code, what to
fix (failures grouped by function, a cause shared by several tests shown once, the input
that broke each test), then what passed, collapsed. Every string a student can influence
is `clean`ed here and escaped by the template for the format it lands in: HTML by Jinja2's
autoescape, Markdown by `md`, applied to every value the Markdown templates print.
"""
import re

from autograder.outputs.figures import shown_figures
from autograder.outputs.templating import render
from autograder.outputs.text import (clean, hidden_text, number, shown, totals, ungraded_message,
                                     withheld_text)

NUMBERS = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def anchor(*parts: str) -> str:
    """An id for an element, from kit names: letters, digits, - and _ only."""
    return "-".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) for p in parts)


def cause_key(verdict: dict) -> str:
    """Failures with the same key share a cause: the same message but for its numbers
    (a shape, an index, a value), which change with the example."""
    return NUMBERS.sub("#", verdict["message"] or "failed")


def test_view(v: dict) -> dict:
    return {"property": clean(v["property"]), "function": clean(v["function"]),
            "points": number(v["points"]), "max_points": number(v["max_points"]),
            "message": clean(v["message"]) or "failed", "example": clean(v.get("example", "")),
            "withheld": withheld_text(v)}


def failure_groups(assignment: str, failures: list[dict], held_back: list[dict], seen: dict) -> list[dict]:
    """The failures of one assignment by function, in the tests' order; within a function,
    the tests failing the same way under one cause. A cause met under an earlier function
    (a dense_backward error that breaks mlp_backward's tests too) is named, not repeated:
    `seen` maps cause keys to the function they were first shown under. Tests that hold
    but count only once a function's value tests pass (`held_back`) go with that function."""
    groups: dict[str, dict] = {}

    def group_of(function: str) -> dict:
        return groups.setdefault(function, {
            "function": function, "id": anchor(assignment, function), "causes": {},
            "held_back": [], "tests": 0, "max_points": 0})

    for v in failures:
        group = group_of(clean(v["function"]))
        group["tests"] += 1
        group["max_points"] += v["max_points"]
        key = cause_key(v)
        cause = group["causes"].setdefault(key, {
            "key": key, "message": clean(v["message"]) or "failed", "see": None,
            "missing": bool(v.get("module_problem")),
            "hint": "" if v.get("module_problem") else clean(v.get("hint") or ""), "tests": []})
        cause["tests"].append(test_view(v))
    for v in held_back:
        group = group_of(clean(v.get("counts_with") or v["function"]))
        group["held_back"].append(test_view(v))
        group["max_points"] += v["max_points"]
    out = []
    for group in groups.values():  # in the order the page shows them
        group["causes"] = list(group["causes"].values())
        group["max_points"] = number(group["max_points"])
        for cause in group["causes"]:
            first = seen.setdefault(cause["key"], {"function": group["function"], "id": group["id"]})
            if first["id"] != group["id"]:
                cause["see"] = first
            # Tests that fail for want of a function, or as an earlier one did: listed folded.
            cause["fold"] = (cause["missing"] or cause["see"] is not None) and len(cause["tests"]) > 1
        out.append(group)
    return out


def whole_module(failures: list[dict], held_back: list[dict]) -> dict | None:
    """When every test of an assignment fails for one reason about its module (no module,
    a module that cannot be imported), that reason and the tests, to be shown once."""
    if not failures or held_back or not all(v.get("module_problem") for v in failures):
        return None
    if len({cause_key(v) for v in failures}) != 1 or len({v["function"] for v in failures}) == 1:
        return None
    return {"message": clean(failures[0]["message"]), "tests": [test_view(v) for v in failures],
            "max_points": number(sum(v["max_points"] for v in failures))}


def page_model(student: str, verdicts: list[dict], notes: list[str], max_points: dict[str, int],
               published: bool = False, figures: list[dict] | None = None) -> dict:
    """Everything both pages show, cleaned, in the order they show it. What is hidden until
    `published`: text.shown."""
    table = totals(verdicts, max_points)
    listed, hidden = shown(verdicts, published)
    seen: dict[str, dict] = {}
    assignments = []
    for assignment, (points, top, failed, ungraded) in table.items():
        mine = [v for v in listed if v["assignment"] == assignment]
        failures = [v for v in mine if not v["passed"] and not v.get("waits_for")]
        held_back = [v for v in mine if not v["passed"] and v.get("waits_for")]
        passes = [test_view(v) for v in mine if v["passed"]]
        entry = {"name": assignment, "id": anchor(assignment), "points": number(points),
                 "max_points": number(top), "share": points / top if top else 1.0,
                 "failed": failed + bool(ungraded),
                 "whole": whole_module(failures, held_back), "passes": passes,
                 "passed_points": number(sum(t["points"] for t in passes)),
                 "hidden": None, "ungraded": None}
        entry["groups"] = [] if entry["whole"] else failure_groups(assignment, failures, held_back, seen)
        if assignment in hidden:
            count, got, most = hidden[assignment]
            entry["hidden"] = {"text": hidden_text(count), "points": number(got), "max_points": number(most),
                               "passed": got == most}
        if ungraded:
            entry["ungraded"] = {"text": ungraded_message(notes), "max_points": number(ungraded)}
        entry["to_fix"] = bool(entry["groups"] or entry["whole"] or entry["ungraded"]
                               or (entry["hidden"] and not entry["hidden"]["passed"]))
        assignments.append(entry)
    total = sum(t[0] for t in table.values())
    most = sum(t[1] for t in table.values())
    return {"student": clean(student), "total": number(total), "max_total": number(most),
            "notes": [clean(n) for n in notes], "assignments": assignments,
            "figures": shown_figures(figures or []),
            "to_fix": any(a["to_fix"] for a in assignments)}


def feedback_html(student: str, verdicts: list[dict], notes: list[str],
                  max_points: dict[str, int], published: bool = False,
                  figures: list[dict] | None = None) -> str:
    """A self-contained page (inline CSS and SVG, no script, nothing fetched) that a student
    can read. Its content security policy forbids scripts and remote loads even if a future
    edit forgot to escape something."""
    return render("feedback.html", page_model(student, verdicts, notes, max_points, published, figures))


def feedback_markdown(student: str, verdicts: list[dict], notes: list[str],
                      max_points: dict[str, int], published: bool = False,
                      figures: list[dict] | None = None) -> str:
    """The feedback page's content as Markdown that reads as plain text too: the figures
    in words."""
    return render("feedback.md", page_model(student, verdicts, notes, max_points, published, figures))
