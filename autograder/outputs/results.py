"""A student's results.json, in Gradescope's autograder schema."""
from autograder.outputs.text import (SEPARATOR, clean, hidden_name, hidden_text, is_private, name_of,
                                     number, output_of, shown, totals, ungraded_message, withheld_text)


def results_json(student: str, verdicts: list[dict], notes: list[str],
                 max_points: dict[str, int], published: bool = False) -> dict:
    """Gradescope's results.json: one test per verdict, plus one failed test per assignment
    whose points were not (all) graded, so that the tests' scores add up to `score` and
    their maxima to `max_score`. Every string is plain text (`output_format` "text"):
    Gradescope would otherwise render the top-level output as HTML. `visibility` "visible"
    shows every public test to the student as soon as it is graded: the feedback is the
    point.

    Until `published`, the private tests are one test per assignment, their sum (text.shown).
    Published, they are listed, and so is the example behind each held-out failure, each
    marked `after_published`: Gradescope, which gets this form at once (it publishes the
    grades itself), shows them to the student only then."""
    table = totals(verdicts, max_points)
    listed, hidden = shown(verdicts, published)
    tests = []
    for assignment, (_, _, _, ungraded) in table.items():
        for v in (v for v in listed if v["assignment"] == assignment):
            test = {"name": name_of(v), "score": number(v["points"]),
                    "max_score": number(v["max_points"]),
                    "status": "passed" if v["passed"] else "failed", "output": output_of(v)}
            if is_private(v):
                test["visibility"] = "after_published"
            tests.append(test)
            if withheld_text(v):
                tests.append({"name": f"{name_of(v)} (held-out example)", "score": 0, "max_score": 0,
                              "status": "failed", "output": withheld_text(v),
                              "visibility": "after_published"})
        if assignment in hidden:
            count, points, most = hidden[assignment]
            tests.append({"name": hidden_name(assignment), "score": number(points),
                          "max_score": number(most),
                          "status": "passed" if points == most else "failed",
                          "output": hidden_text(count)})
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
