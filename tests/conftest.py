"""Helpers for the kit's own tests: grade a folder of student code with the public tests."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import kit

STUDENTS = Path(__file__).parent / "students"
# Two students' activations.py, graded against 01_activations by the LMS tests: what
# `autograde` gives these files is what the other routes into the grader must give.
ACTIVATIONS = {"alice": kit.SOLUTIONS / "01_activations" / "activations.py",
               "bob": STUDENTS / "01_activations" / "bug_tanh_grad_no_square" / "activations.py"}


def grade(student_dir: Path | None, assignments: list[str], tmp_path: Path) -> tuple[list[dict], str]:
    """Run the assignments' tests in a fresh process, as a student would; return the verdicts
    and pytest's output. `student_dir=None` grades the stubs shipped in assignments/."""
    results = tmp_path / "verdicts.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--gradkit-results", str(results),
               *[str(kit.ASSIGNMENTS / name) for name in assignments]]
    if student_dir is not None:
        command += ["--student-dir", str(student_dir)]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert results.exists(), f"pytest wrote no verdicts:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return json.loads(results.read_text()), run.stdout


def expected_failures(module: Path) -> set[str]:
    """The functions a known-bad variant must lose points on: its `# expect-fail:` lines."""
    names = set()
    for line in module.read_text().splitlines():
        if match := re.match(r"#\s*expect-fail:\s*(.+)", line):
            names.update(n.strip() for n in match.group(1).split(","))
    return names


@pytest.fixture(scope="session")
def solution_run(tmp_path_factory):
    return grade(kit.SOLUTIONS, kit.assignment_names(), tmp_path_factory.mktemp("solutions"))


@pytest.fixture(scope="session")
def stub_run(tmp_path_factory):
    return grade(None, kit.assignment_names(), tmp_path_factory.mktemp("stubs"))


def autograde(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The `autograde` command installed beside this interpreter, as an instructor runs it."""
    command = [str(Path(sys.executable).parent / "autograde"), *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def activations_graded(tmp_path_factory) -> Path:
    """The output folder of `autograde -a 01_activations` on ACTIVATIONS as a class of .py files."""
    root = tmp_path_factory.mktemp("activations")
    for student, module in ACTIVATIONS.items():
        (root / "class" / student).mkdir(parents=True)
        shutil.copy(module, root / "class" / student / "activations.py")
    run = autograde(root / "class", "-a", "01_activations", "--out", root / "graded")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return root / "graded"
