"""`autograde COURSE/` on an nbgrader course: the students' submitted notebooks, graded in
the sandbox like any submission, get the points their code gets as .py files."""
import json
from pathlib import Path

from autograder.batch import state
from autograder.integrations.nbgrader import assignment_notebook

from conftest import ACTIVATIONS, autograde

ASSIGNMENT = "01_activations"


def submitted_notebook(verdicts: list[dict], code: str) -> str:
    """The assignment's notebook as `autograde nbgrader` writes it, its solution cell
    holding `code`: the handout and the kit's locked test cells stay in."""
    notebook = json.loads(assignment_notebook(ASSIGNMENT, verdicts))
    [cell] = [c for c in notebook["cells"] if c["metadata"]["nbgrader"]["solution"]]
    cell["source"] = code.splitlines(keepends=True)
    return json.dumps(notebook, indent=1)


def files_below(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_course_is_graded_from_its_submitted_notebooks(tmp_path, activations_graded):
    course = tmp_path / "course"
    verdicts = state.flat(state.load(activations_graded / "alice"))[0]
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(
        submitted_notebook(verdicts, ACTIVATIONS["alice"].read_text()))
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    for student, module in ACTIVATIONS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(submitted_notebook(verdicts, module.read_text()))
        (folder / "timestamp.txt").write_text("2026-03-01 10:00:00.000000 UTC\n")
    before = files_below(course)

    run = autograde(course, "-a", ASSIGNMENT)

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert f"{course} is an nbgrader course" in run.stdout.splitlines()[0]
    out = tmp_path / "course-graded"
    assert files_below(course) == before, "grading changed the course"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course", "course-graded"]
    grades = (out / "grades.csv").read_text().splitlines()
    assert grades[0] == f"student,{ASSIGNMENT},total,max_total"
    assert [line.split(",")[0] for line in grades[1:]] == ["alice", "bob"]
    for student in ACTIVATIONS:
        from_notebook = json.loads((out / student / "results.json").read_text())
        from_module = json.loads((activations_graded / student / "results.json").read_text())
        assert from_notebook == from_module
    full_marks = sum(v["max_points"] for v in verdicts)
    alice = json.loads((out / "alice" / "results.json").read_text())
    assert alice["score"] == alice["max_score"] == full_marks
    bob = json.loads((out / "bob" / "results.json").read_text())
    assert 0 < bob["score"] < bob["max_score"] == full_marks
