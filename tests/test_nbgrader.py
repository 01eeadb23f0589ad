"""The kit as an nbgrader course, graded by the real nbgrader: generate, autograde, export.

nbgrader's grade of a submission must be the kit's grade of the same code, test by test.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbgrader")
pytest.importorskip("ipykernel")

import nbformat  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests  # noqa: E402

from autograder import kit  # noqa: E402
from autograder.integrations.nbgrader import assignment_notebook, grade_id_of  # noqa: E402

ASSIGNMENT = "01_activations"
MODULE = kit.module_name(ASSIGNMENT)
SUBMISSIONS = {
    "full_marks": kit.SOLUTIONS / ASSIGNMENT / f"{MODULE}.py",
    "tanh_grad_no_square": Path(__file__).parent / "students" / ASSIGNMENT
    / "bug_tanh_grad_no_square" / f"{MODULE}.py",
}
WRONG = "tanh_grad_no_square"

EDITED_CONFIG = 'c = get_config()\nc.CourseDirectory.course_id = "numerics-2026"\n'
WRITE_COURSE = """
import sys
from pathlib import Path
from autograder.integrations.nbgrader import write_course
write_course(Path(sys.argv[1]), sys.argv[2:])
"""
KIT_GRADE = """
import json, sys
from pathlib import Path
from autograder.submissions.loader import LocalSource
from autograder.batch.runner import run_tests, test_files
assignment, student_dir, out = sys.argv[1:]
Path(out).write_text(json.dumps(run_tests(test_files([assignment]), LocalSource(Path(student_dir)))))
"""


def jupyter_environment(home: Path) -> dict:
    """nbgrader run as an instructor would, with this interpreter's environment: its
    scripts on PATH (nbgrader calls `alembic`), and a python3 kernel that is this
    interpreter, whatever kernels the machine has installed elsewhere."""
    kernel = home / "data" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    return {**os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "JUPYTER_PATH": str(home / "data"), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "run"),
            "JUPYTER_PLATFORM_DIRS": "1"}


def start(*command, env: dict, cwd: Path | None = None) -> subprocess.Popen:
    """`python COMMAND...` with this interpreter, running in the background."""
    return subprocess.Popen([sys.executable, *map(str, command)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, f"{process.args[1:4]} failed:\n{output[-4000:]}"


def nbgrader(course: Path, env: dict, *args) -> None:
    finish(start("-m", "nbgrader", *args, env=env, cwd=course))


def submission(released: dict, code: str) -> dict:
    """The released notebook with the student's code in its solution cell."""
    notebook = json.loads(json.dumps(released))
    [cell] = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    cell["source"] = code.splitlines(keepends=True)
    return notebook


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """The whole nbgrader workflow on one course: what each step left behind."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    env = jupyter_environment(tmp / "jupyter")
    course, again = tmp / "course", tmp / "again"
    wrong_dir = tmp / "kit" / WRONG
    wrong_dir.mkdir(parents=True)
    (wrong_dir / f"{MODULE}.py").write_text(SUBMISSIONS[WRONG].read_text())
    # The kit's own grade of the wrong code, and a second generation of the course, run
    # beside nbgrader's steps.
    kit_grade = start("-c", KIT_GRADE, ASSIGNMENT, wrong_dir, tmp / "kit.json", env=env)
    again.mkdir()
    (again / "nbgrader_config.py").write_text(EDITED_CONFIG)
    regenerate = start("-c", WRITE_COURSE, again, ASSIGNMENT, env=env)

    finish(start("-c", WRITE_COURSE, course, ASSIGNMENT, env=env))
    source = {p.relative_to(course): p.read_bytes() for p in course.rglob("*") if p.is_file()}
    nbgrader(course, env, "generate_assignment", ASSIGNMENT)
    released = json.loads((course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    (tmp / "students.csv").write_text("id\n" + "".join(f"{s}\n" for s in SUBMISSIONS))
    nbgrader(course, env, "db", "student", "import", tmp / "students.csv")
    for student, code in SUBMISSIONS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(
            json.dumps(submission(released, code.read_text()), indent=1))
    nbgrader(course, env, "autograde", ASSIGNMENT)
    nbgrader(course, env, "export")
    with open(course / "grades.csv", newline="") as file:
        grades = {row["student_id"]: row for row in csv.DictReader(file)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        cells = {student: {grade.name: grade.score for grade in gradebook.find_submission_notebook(
                     ASSIGNMENT, ASSIGNMENT, student).grades}
                 for student in SUBMISSIONS}

    finish(kit_grade)
    finish(regenerate)
    return {"source": source, "again": again, "released": released,
            "grades": grades, "cells": cells,
            "kit": json.loads((tmp / "kit.json").read_text())}


def test_generating_again_writes_the_same_notebook_and_keeps_the_instructors_config(workflow):
    notebook = Path("source", ASSIGNMENT, f"{ASSIGNMENT}.ipynb")
    assert sorted(map(str, workflow["source"])) == ["nbgrader_config.py", str(notebook)]
    assert (workflow["again"] / notebook).read_bytes() == workflow["source"][notebook]
    assert (workflow["again"] / "nbgrader_config.py").read_text() == EDITED_CONFIG


def test_released_notebook_has_the_stub_and_one_graded_cell_per_kit_test(workflow):
    cells = workflow["released"]["cells"]
    [solution] = [c for c in cells if c["metadata"]["nbgrader"]["solution"]]
    code = "".join(solution["source"])
    assert "SOLUTION" not in code and "np.exp(-np.abs(x))" not in code
    assert code.count("raise NotImplementedError()") == 12
    assert "def sigmoid(x):" in code and "SELU_SCALE = 1.0507009873554805" in code
    points = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
              for c in cells if c["metadata"]["nbgrader"]["grade"]}
    assert points == {grade_id_of(ASSIGNMENT, v["nodeid"]): v["max_points"] for v in workflow["kit"]}


def test_correct_code_gets_full_marks(workflow):
    row = workflow["grades"]["full_marks"]
    total = sum(v["max_points"] for v in workflow["kit"])
    assert float(row["score"]) == float(row["max_score"]) == total
    assert workflow["cells"]["full_marks"] == {
        grade_id_of(ASSIGNMENT, v["nodeid"]): v["max_points"] for v in workflow["kit"]}


def test_wrong_code_gets_the_kits_points_test_by_test(workflow):
    kit_points = {grade_id_of(ASSIGNMENT, v["nodeid"]): v["points"] for v in workflow["kit"]}
    lost = {grade_id for grade_id, points in kit_points.items() if points == 0}
    assert lost and all("tanh_grad" in grade_id for grade_id in lost)
    assert workflow["cells"][WRONG] == kit_points
    assert float(workflow["grades"][WRONG]["score"]) == sum(kit_points.values())


def verdict(nodeid: str, points: int, prop: str = "sigmoid(x) is right") -> dict:
    return {"assignment": ASSIGNMENT, "function": "sigmoid", "property": prop,
            "max_points": points, "nodeid": nodeid}


def test_a_private_test_is_graded_in_a_region_nbgrader_hides_from_students():
    private = "private/01_activations/test_more.py::test_sigmoid_at_extremes"
    text = assignment_notebook(ASSIGNMENT, [verdict(private, 3)])
    notebook = nbformat.reads(text, as_version=4)
    [cell] = [c for c in notebook.cells if c.metadata.nbgrader.get("points")]
    assert cell.metadata.nbgrader.grade_id == "private-01_activations-test_more-test_sigmoid_at_extremes"
    assert cell.metadata.nbgrader.points == 3 and private in cell.source
    released, _ = ClearHiddenTests().preprocess(notebook, {})
    [cell] = [c for c in released.cells if c.metadata.nbgrader.get("points")]
    assert private not in cell.source


def test_text_that_nbgrader_would_act_on_is_refused():
    nodeid = "assignments/01_activations/test_activations.py::test_x"
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        assignment_notebook(ASSIGNMENT, [verdict(nodeid, 1, "copes with ### BEGIN SOLUTION")])
