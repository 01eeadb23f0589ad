"""The gradebook only grows: runs restricted with -a or -s into an existing OUT/ keep every
other cell, a change to anything that decides a grade regrades, and bad input says so."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import kit
from autograder.batch import state
from autograder.outputs.gradebook import grade_row, summary_lines

from conftest import ACTIVATIONS, STUDENTS, autograde

BACKPROP_BUG = STUDENTS / "02_backprop" / "bug_grads_reversed" / "backprop.py"


def grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


@pytest.fixture
def two_assignments(tmp_path):
    """alice and bob, each with an activations and a backprop module."""
    for student, module in ACTIVATIONS.items():
        folder = tmp_path / "class" / student
        folder.mkdir(parents=True)
        shutil.copy(module, folder / "activations.py")
        shutil.copy(BACKPROP_BUG if student == "bob" else kit.SOLUTIONS / "02_backprop" / "backprop.py",
                    folder / "backprop.py")
    return tmp_path / "class", tmp_path / "out"


def test_runs_restricted_by_assignment_or_student_keep_every_other_cell(two_assignments):
    submissions, out = two_assignments
    first = autograde(submissions, "--out", out, "-a", "01_activations", "-a", "02_backprop")
    assert first.returncode == 0, first.stdout + first.stderr
    before = grades(out)
    assert set(before) == {"alice", "bob"} and "02_backprop" in before["bob"]

    (submissions / "bob" / "activations.py").write_text(ACTIVATIONS["alice"].read_text())
    again = autograde(submissions, "--out", out, "-a", "01_activations", "-s", "bob")
    assert again.returncode == 0 and "graded 1 student(s)" in again.stdout, again.stdout + again.stderr
    after = grades(out)
    assert after["alice"] == before["alice"]
    assert after["bob"]["02_backprop"] == before["bob"]["02_backprop"]
    assert after["bob"]["01_activations"] == after["alice"]["01_activations"] != before["bob"]["01_activations"]
    page = (out / "bob" / "feedback.html").read_text()
    assert "02_backprop" in page and "01_activations" in page
    results = json.loads((out / "bob" / "results.json").read_text())
    assert results["score"] == int(after["bob"]["total"])


def copy_of_the_kit(destination: Path) -> Path:
    for folder in ("autograder", "reference", "assignments", "solutions"):
        shutil.copytree(kit.ROOT / folder, destination / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def test_a_change_to_the_engine_regrades_everyone(tmp_path):
    """The kit's own code decides grades too: after an edit of grading/checks.py, the next
    run grades everyone again instead of keeping the grades of the old code."""
    kit_copy = copy_of_the_kit(tmp_path / "kit")
    submissions = tmp_path / "class"
    (submissions / "alice").mkdir(parents=True)
    shutil.copy(ACTIVATIONS["alice"], submissions / "alice" / "activations.py")
    env = {**os.environ, "PYTHONPATH": str(kit_copy)}

    def run():
        return subprocess.run([sys.executable, "-m", "autograder", str(submissions), "--out",
                               str(tmp_path / "out"), "-a", "01_activations"],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)

    assert "graded 1 student(s)" in run().stdout
    assert "graded 0 student(s)" in run().stdout
    with open(kit_copy / "autograder" / "grading" / "checks.py", "a") as checks:
        checks.write("\n# a changed tolerance would be here\n")
    assert "graded 1 student(s)" in run().stdout


@pytest.mark.parametrize("where", ["reference/activations.py", "solutions/01_activations/activations.py",
                                   "assignments/01_activations/test_activations.py",
                                   "autograder/sandbox/remote.py"])
def test_the_key_of_an_assignment_covers_what_decides_its_grade(tmp_path, monkeypatch, where):
    kit_copy = copy_of_the_kit(tmp_path)
    monkeypatch.setattr(kit, "ROOT", kit_copy)
    monkeypatch.setattr(kit, "ASSIGNMENTS", kit_copy / "assignments")
    monkeypatch.setattr(kit, "SOLUTIONS", kit_copy / "solutions")
    assignments = ["01_activations", "02_backprop"]
    keys = state.assignment_keys(assignments, state_limits(), b"s", kit_copy / "private")
    with open(kit_copy / where, "a") as changed:
        changed.write("\n")
    changed = state.assignment_keys(assignments, state_limits(), b"s", kit_copy / "private")
    assert changed["01_activations"] != keys["01_activations"]
    assert (changed["02_backprop"] != keys["02_backprop"]) == where.startswith(("autograder", "reference"))
    assert state.assignment_keys(assignments, state_limits(), b"t", kit_copy / "private") != changed


def state_limits():
    from autograder.sandbox.limits import Limits
    return Limits()


def test_an_empty_submissions_folder_is_an_error_that_says_what_to_do(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "notes.txt").write_text("not a student\n")
    run = autograde(tmp_path / "class")
    assert run.returncode == 1
    assert "no submissions in" in run.stderr and "one folder or .zip per student" in run.stderr
    assert not (tmp_path / "class-graded").exists()


def test_results_never_land_in_the_submissions_folder_whatever_a_student_is_called(tmp_path):
    """With --out above the submissions, a student named like the folder on the way would
    have OUT/<student> be the submissions folder: that student is skipped, said so."""
    submissions = tmp_path / "class"
    for student in ("class", "alice"):
        (submissions / student).mkdir(parents=True)
        shutil.copy(ACTIVATIONS["alice"], submissions / student / "activations.py")
    before = sorted(p.relative_to(submissions) for p in submissions.rglob("*"))
    run = autograde(submissions, "--out", tmp_path, "-a", "01_activations")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "class: its results would be written into the submissions folder" in run.stdout
    assert sorted(p.relative_to(submissions) for p in submissions.rglob("*")) == before
    assert set(grades(tmp_path)) == {"alice"}
    inside = autograde(submissions, "--out", submissions / "graded")
    assert inside.returncode == 1 and "inside the submissions folder" in inside.stderr


def test_the_summary_names_a_students_most_telling_note_first():
    held = {"version": state.VERSION, "assignments": {
        "01_activations": {"verdicts": [], "maximum": 10, "module": None, "key": "",
                           "notes": ["activations: no activations.py (or activations.ipynb) found"]},
        "02_backprop": {"verdicts": [], "maximum": 10, "module": None, "key": "",
                        "notes": ["backprop: backprop.py line 3: SyntaxError: invalid syntax"]}}}
    lines = summary_lines([grade_row("carol", *state.flat(held))], ["01_activations", "02_backprop"])
    assert "carol: backprop: backprop.py line 3: SyntaxError" in "\n".join(lines)
