"""A student's results.json, in Gradescope's autograder schema."""
from autograder.outputs.text import SEPARATOR, clean, name_of, number, output_of, totals, ungraded_message


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
