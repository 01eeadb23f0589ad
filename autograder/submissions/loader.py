"""Turn a student's source into a module, and find it for the tests.

`module_from_source` is the one way student code becomes a module, here and inside the
sandbox. A module that cannot be used becomes an `UnusableModule`, so that every test
touching it fails with the same one-line reason while the other modules are still graded.
"""
import ast
import types
from pathlib import Path

from autograder.submissions.discover import ModuleProblem, find_module, read_source
from autograder.submissions.imports import forbidden_imports


def module_from_source(source: str, filename: str, name: str) -> types.ModuleType:
    short = Path(filename).name
    try:
        tree = ast.parse(source, filename)
        refused = forbidden_imports(tree)
        code = compile(tree, filename, "exec")
    except SyntaxError as error:
        raise ModuleProblem(f"{short} line {error.lineno}: SyntaxError: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ModuleProblem(f"{short} cannot be compiled: {error}") from None
    if refused:
        raise ModuleProblem(f"{short} imports {', '.join(refused)}: "
                            "a student module may import only numpy and the standard library")
    module = types.ModuleType(name)
    module.__file__ = filename
    # Marks the module's frames, so a failure can point at the student's line.
    module.__gradkit_student__ = True
    try:
        exec(code, module.__dict__)
    except (Exception, SystemExit) as error:
        raise ModuleProblem(f"{short} raised {type(error).__name__}: {error} while being imported") from None
    return module


class UnusableModule:
    """Stands for a module that could not be loaded: any function taken from it fails."""

    def __init__(self, reason: str):
        self._reason = reason

    def __getattr__(self, function):
        raise ModuleProblem(self._reason)


def load_file(path: Path, name: str):
    try:
        return module_from_source(read_source(path), str(path), name)
    except ModuleProblem as problem:
        return UnusableModule(str(problem))


class LocalSource:
    """Student modules imported into this process: the student's own `pytest` run.

    Without `student_dir` a test finds the module in its own assignment folder; with it,
    anywhere below that folder, as the batch grader finds it in a submission. A test's
    folder is named after its assignment, which names the notebook nbgrader collects.
    """

    def __init__(self, student_dir: Path | None = None):
        self.student_dir = student_dir

    def expect(self, plan: dict):
        """Calls are planned to spare round trips to a sandbox (plan.py): none here."""

    def load(self, name: str, test_dir: Path):
        root = self.student_dir or test_dir
        try:
            path = find_module(root, name, assignment=test_dir.name)
        except ModuleProblem as problem:
            return UnusableModule(f"{problem} in {root}")
        return load_file(path, name)
