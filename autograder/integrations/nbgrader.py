"""The kit's assignments as an nbgrader course, from the same single source.

Each assignment becomes one notebook in nbgrader's `source/` folder: the handout as
read-only markdown, the whole solution module as the one solution cell (its
`### BEGIN SOLUTION` / `### END SOLUTION` regions are nbgrader's own syntax, so
`nbgrader generate_assignment` strips them itself), a locked cell that runs the kit's tests
on the functions the notebook defines, and one locked autograded cell per graded test,
worth that test's points, which fails exactly when the test fails. nbgrader's grade is
therefore the kit's grade for the same code.
"""
import json
import re
from pathlib import Path

from autograder import kit
from autograder.submissions.loader import LocalSource
from autograder.batch.runner import SolutionsFail, run_tests, test_files

COURSE_ID = "gradkit"
CONFIG = '''\
# nbgrader's configuration for the gradkit course. gradkit writes this file only when it is
# missing: set the course id your JupyterHub knows, the exchange, etc. here.
# Run nbgrader from this folder, where it keeps its gradebook.db.
c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "{course_id}"

# A local exchange in this folder, to try release, fetch, submit and collect on one
# machine. On JupyterHub, set the exchange every user shares (e.g. /srv/nbgrader/exchange).
c.Exchange.root = "exchange"

# One cell runs the assignment's whole test suite (about ten seconds on a correct
# solution); the limit stops a student's endless loop.
c.Execute.timeout = 300
'''

# nbgrader acts on these wherever they stand, in any cell: text copied into a cell from the
# handout or a test's description must not contain them.
DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
              "BEGIN MARK SCHEME", "END MARK SCHEME")
RUNNING_THE_TESTS = "## Running the tests"
YOUR_CODE = """\
## Your code

Write `{module}.py` in the code cell below: the functions described above, with the
signatures given there. Then run every cell (Run All). The locked cell after yours runs the
assignment's tests on your functions; each locked cell after that reports one test and is
worth its points. A failing test cell names the function and the property it checks, says
what went wrong and gives a hint. Change your code and run all cells again.

**Total: {total} points**"""
SETUP = """\
# Runs the assignment's tests on the functions defined above; each cell below reports one.
from autograder.integrations.notebook import check, run_kit_tests

run_kit_tests({assignment}, globals())"""


def write_course(course_dir: Path, assignments: list[str]) -> dict[Path, bool]:
    """Write `source/<NN_name>/<NN_name>.ipynb` per assignment, and `nbgrader_config.py`
    if the course has none yet.

    The graded tests and their points are those the solutions meet when their tests run
    now. Writing again gives byte-identical notebooks; one already up to date is left
    untouched. Returns every file of the course that gradkit provides, and whether this
    call wrote it.
    """
    verdicts = graded_tests(assignments)
    config = course_dir / "nbgrader_config.py"
    files = {config: not config.exists()}
    if files[config]:
        course_dir.mkdir(parents=True, exist_ok=True)
        config.write_text(CONFIG.format(course_id=COURSE_ID), encoding="utf-8")
    for name in assignments:
        path = course_dir / "source" / name / f"{name}.ipynb"
        text = assignment_notebook(name, [v for v in verdicts if v["assignment"] == name])
        files[path] = not path.exists() or path.read_text(encoding="utf-8") != text
        if files[path]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return files


def graded_tests(assignments: list[str]) -> list[dict]:
    """Every graded test of the assignments, as its verdict on the solutions."""
    verdicts = run_tests(test_files(assignments), LocalSource(kit.SOLUTIONS))
    broken = [f"{v['nodeid']}: {v['message']}" for v in verdicts if not v["passed"]]
    if broken:
        raise SolutionsFail("the solutions fail their own tests: " + "; ".join(broken[:3]))
    missing = set(assignments) - {v["assignment"] for v in verdicts}
    if missing:
        raise SolutionsFail(f"no graded test ran for {', '.join(sorted(missing))}")
    return verdicts


def assignment_notebook(assignment: str, verdicts: list[dict]) -> str:
    """The nbgrader source notebook of one assignment, as the text of its .ipynb file."""
    module = kit.module_name(assignment)
    handout = (kit.ASSIGNMENTS / assignment / "README.md").read_text(encoding="utf-8")
    solution = (kit.SOLUTIONS / assignment / f"{module}.py").read_text(encoding="utf-8")
    total = sum(v["max_points"] for v in verdicts)
    texts = [*handout_sections(handout), YOUR_CODE.format(module=module, total=total)]
    cells = [markdown_cell(plain(text, f"the handout of {assignment}"), f"handout-{number}")
             for number, text in enumerate(texts, 1)]
    cells.append(code_cell(solution.rstrip("\n"), f"solution-{module}", solution=True))
    cells.append(code_cell(SETUP.format(assignment=json.dumps(assignment)), "run-kit-tests"))
    grade_ids = set()
    for verdict in verdicts:
        grade_id = grade_id_of(assignment, verdict["nodeid"])
        if grade_id in grade_ids:
            raise ValueError(f"two tests of {assignment} share the nbgrader grade_id {grade_id}")
        grade_ids.add(grade_id)
        cells.append(code_cell(check_code(verdict), grade_id, points=verdict["max_points"]))
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                           "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    # nbformat's own layout, so that saving the notebook in Jupyter changes nothing.
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def handout_sections(handout: str) -> list[str]:
    """The handout cut at its level-1 and level-2 headings, without the section on running
    pytest: in the notebook, running the cells runs the tests."""
    sections, fenced = [[]], False
    for line in handout.rstrip("\n").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,2} ", line) and any(s.strip() for s in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    texts = ["\n".join(lines).strip("\n") for lines in sections]
    return [text for text in texts if not text.startswith(RUNNING_THE_TESTS)]


def grade_id_of(assignment: str, nodeid: str) -> str:
    """`assignments/01_activations/test_activations.py::test_value[sigmoid]` ->
    `test_activations-test_value-sigmoid`: stable as long as the test keeps its name."""
    where = nodeid.removeprefix(f"assignments/{assignment}/").replace(".py::", "-")
    return re.sub(r"[^A-Za-z0-9_]+", "-", where).strip("-")


def plain(text: str, where: str) -> str:
    """`text`, which nbgrader must copy as it stands: no delimiter of its own in it."""
    for delimiter in DELIMITERS:
        if delimiter in text:
            raise ValueError(f"{where} contains {delimiter!r}, which nbgrader would act on")
    return text


def check_code(verdict: dict) -> str:
    comment = plain(f"# {verdict['function']}: {verdict['property']}  "
                    f"[{verdict['max_points']} point{'s' * (verdict['max_points'] != 1)}]",
                    f"the test {verdict['nodeid']}")
    code = f"{comment}\ncheck({json.dumps(verdict['nodeid'])})"
    if verdict["nodeid"].startswith("private/"):
        # The instructor's private tests are graded but not shown: nbgrader removes this
        # region from the released notebook and puts it back when it autogrades.
        code = f"### BEGIN HIDDEN TESTS\n{code}\n### END HIDDEN TESTS"
    return code


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def nbgrader_metadata(grade_id: str, *, solution=False, points=None) -> dict:
    return {"grade": points is not None, "grade_id": grade_id, "locked": not solution,
            "schema_version": 3, "solution": solution, "task": False,
            **({"points": points} if points is not None else {})}


def markdown_cell(text: str, grade_id: str) -> dict:
    return {"cell_type": "markdown", "metadata": {"nbgrader": nbgrader_metadata(grade_id)},
            "source": lines(text)}


def code_cell(code: str, grade_id: str, *, solution=False, points=None) -> dict:
    metadata = nbgrader_metadata(grade_id, solution=solution, points=points)
    return {"cell_type": "code", "execution_count": None, "metadata": {"nbgrader": metadata},
            "outputs": [], "source": lines(code)}
