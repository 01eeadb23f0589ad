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


# Appended to a solution, this makes every public function, once it has its (correct)
# answer, overwrite every array it was given, caches included: NaN into floats, bits flipped
# in integers. A test that reads its arguments after the call, to work out the expected
# value, then expects garbage, and a test that passes a cache twice meets a spent one.
OVERWRITE_INPUTS = """

import copy as _copy
import functools as _functools
import inspect as _inspect

import numpy as _np

_depth = [0]


def _overwrite(value):
    if isinstance(value, _np.ndarray) and value.flags.writeable:
        if value.dtype.kind in "fc":
            value[...] = _np.nan
        elif value.dtype.kind in "iub":
            _np.invert(value, out=value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _overwrite(item)
    elif isinstance(value, dict):
        for item in value.values():
            _overwrite(item)
    elif hasattr(value, "__dict__") and not callable(value):
        _overwrite(vars(value))


def _overwriting(function):
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        _depth[0] += 1
        try:
            answer = _copy.deepcopy(function(*args, **kwargs))
        finally:
            _depth[0] -= 1
        if not _depth[0]:
            _overwrite([args, kwargs])
        return answer
    return wrapper


for _name, _value in list(globals().items()):
    if _inspect.isfunction(_value) and not _name.startswith("_") and _value.__module__ == __name__:
        globals()[_name] = _overwriting(_value)
"""


def overwriting_inputs(assignment: str) -> str:
    """The solution to `assignment`, made to overwrite its inputs (OVERWRITE_INPUTS)."""
    module = kit.module_name(assignment)
    return (kit.SOLUTIONS / assignment / f"{module}.py").read_text() + OVERWRITE_INPUTS


def returning_none(assignment: str) -> str:
    """The stub of `assignment` with every function returning None: a student who wrote `pass`."""
    module = kit.module_name(assignment)
    stub = (kit.ASSIGNMENTS / assignment / f"{module}.py").read_text()
    return re.sub(r"raise NotImplementedError\(.*\)", "return None", stub)


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
