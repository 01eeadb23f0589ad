"""Helpers for the kit's own tests: grade a folder of student code with the public tests."""
import json
import re
import shutil
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import kit

STUDENTS = Path(__file__).parent / "students"
# Every `autograde` the tests run draws its held-out examples from this secret, not from
# one made in the checkout's private/ folder.
os.environ.setdefault("GRADKIT_SECRET", str(Path(tempfile.mkdtemp(prefix="gradkit-secret-")) / "secret"))
# and keeps its prepared tests there too, out of the checkout's private/prepared/.
os.environ.setdefault("GRADKIT_PREPARED", str(Path(os.environ["GRADKIT_SECRET"]).parent / "prepared"))
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


# Appended to a solution, this makes every public function implement nothing in one way
# (_KIND): answer zeros or NaN in the shape of the right answer, hand back its first
# argument or a copy of it, return None, or raise. Code like this must score 0.
TRIVIAL = """

import copy as _copy
import functools as _functools
import inspect as _inspect

import numpy as _np

_KIND = {kind!r}


def _blank(value, fill):
    if isinstance(value, _np.ndarray):
        return _np.full(value.shape, fill) if value.dtype.kind == "f" else _np.zeros_like(value)
    if isinstance(value, (float, _np.floating)):
        return fill
    if isinstance(value, (int, _np.integer)) and not isinstance(value, bool):
        return 0
    if isinstance(value, str):
        return ""
    if isinstance(value, (list, tuple)):
        return type(value)(_blank(v, fill) for v in value)
    if isinstance(value, dict):
        return {{k: _blank(v, fill) for k, v in value.items()}}
    return value


def _trivial(function):
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        first = args[0] if args else next(iter(kwargs.values()), None)
        if _KIND in ("zeros", "nan"):
            try:
                shape_of = function(*args, **kwargs)
            except Exception:
                shape_of = first
            return _blank(shape_of, 0.0 if _KIND == "zeros" else _np.nan)
        if _KIND == "input":
            return first
        if _KIND == "copy":
            return _copy.deepcopy(first)
        if _KIND == "none":
            return None
        raise {{"ValueError": ValueError, "FloatingPointError": FloatingPointError,
                "NotImplementedError": NotImplementedError}}[_KIND]("nothing here")
    return wrapper


for _name, _value in list(globals().items()):
    if _inspect.isfunction(_value) and not _name.startswith("_") and _value.__module__ == __name__:
        globals()[_name] = _trivial(_value)
"""
TRIVIAL_KINDS = ("zeros", "nan", "input", "copy", "none", "ValueError", "FloatingPointError",
                 "NotImplementedError")


def trivial(kind: str):
    """A maker of the solution to an assignment made to implement nothing, as `kind` says."""
    def make(assignment: str) -> str:
        module = kit.module_name(assignment)
        return (kit.SOLUTIONS / assignment / f"{module}.py").read_text() + TRIVIAL.format(kind=kind)
    return make


# Appended to a solution, this logs every call a test makes and its answer, by a key a
# module can compute from the arguments alone, into the file LOG (appended as pickles).
LOG_ANSWERS = """

import functools as _functools
import inspect as _inspect
import pickle as _pickle

import numpy as _np


def _key(value):
    if isinstance(value, _np.ndarray):
        return ("a", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return ("l", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", tuple((k, _key(v)) for k, v in sorted(value.items())))
    if isinstance(value, (float, _np.floating)):
        return ("f", float(value))
    return ("r", repr(value))


def _logging(function):
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        answer = function(*args, **kwargs)
        with open(LOG, "ab") as log:
            _pickle.dump((_key((function.__name__, args, kwargs)), answer), log)
        return answer
    return wrapper


for _name, _value in list(globals().items()):
    if _inspect.isfunction(_value) and not _name.startswith("_") and _value.__module__ == __name__:
        globals()[_name] = _logging(_value)
"""

# A module with no implementation at all: the answers a friend's correct module gave to
# every call of the public tests, looked up by the arguments, and zeros for anything else.
TABLE = """import base64
import pickle
import zlib

import numpy as _np

{key}

_TABLE = pickle.loads(zlib.decompress(base64.b64decode({table!r})))


def _answer(name):
    def function(*args, **kwargs):
        return _TABLE.get(_key((name, args, kwargs)), _np.zeros(1))
    function.__name__ = name
    return function


{functions}
"""


def lookup_tables(tmp_path: Path) -> dict[str, str]:
    """Per assignment, the module a student who wants points without the work could build:
    run the public tests on a friend's correct modules that log every answer, then answer
    from the log."""
    import base64
    import pickle
    import re as _re
    import zlib

    friend, log = tmp_path / "friend", tmp_path / "answers.pickle"
    friend.mkdir()
    for assignment in kit.assignment_names():
        module = kit.module_name(assignment)
        source = (kit.SOLUTIONS / assignment / f"{module}.py").read_text()
        (friend / f"{module}.py").write_text(source + f"\nLOG = {str(log)!r}\n" + LOG_ANSWERS)
    grade(friend, kit.assignment_names(), tmp_path)
    table = {}
    with open(log, "rb") as stream:
        while True:
            try:
                key, answer = pickle.load(stream)
            except EOFError:
                break
            if len(pickle.dumps(answer)) < 2**18:  # the deep networks' answers would not fit
                table[key] = answer
    key_source = "def _key" + LOG_ANSWERS.split("def _key", 1)[1].split("def _logging")[0].rstrip()
    modules = {}
    for assignment in kit.assignment_names():
        module = kit.module_name(assignment)
        names = _re.findall(r"^def ([a-z]\w*)\(", (kit.SOLUTIONS / assignment / f"{module}.py").read_text(), _re.M)
        mine = {k: v for k, v in table.items() if k[1][0][1].strip("'") in names}
        packed = base64.b64encode(zlib.compress(pickle.dumps(mine), 9)).decode()
        modules[assignment] = TABLE.format(key=key_source, table=packed,
                                           functions="\n".join(f"{n} = _answer({n!r})" for n in names))
    return modules


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
