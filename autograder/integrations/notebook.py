"""What the locked cells of an nbgrader notebook import: the kit's tests, run in the kernel.

The student's functions live in the notebook kernel's globals. `run_kit_tests` runs the
assignment's tests on them once, exactly as the student's own `pytest` run would (the same
plugin, the same derandomized Hypothesis examples), and keeps every verdict; each
autograded cell then `check`s one test's verdict and fails with the kit's feedback when
that test failed. A cell's points are its test's points, so nbgrader's grade is the kit's.
"""
import types
from pathlib import Path

from autograder.grading.plugin import points_table, render
from autograder.batch.runner import run_tests, test_files

# The verdicts of the latest run in this kernel, by pytest node id.
_verdicts: dict[str, dict] = {}


class NotebookSource:
    """Student modules made from a notebook's globals: whatever the kernel has defined."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def load(self, name: str, test_dir: Path) -> types.ModuleType:
        module = types.ModuleType(name)
        module.__dict__.update((key, value) for key, value in self.namespace.items()
                               if not key.startswith("__"))
        return module


def run_kit_tests(assignment: str, namespace: dict) -> None:
    """Run the tests of `assignment` (e.g. "01_activations") on the functions in
    `namespace` (the notebook's `globals()`) and print the points they earn."""
    verdicts = run_tests(test_files([assignment]), NotebookSource(namespace))
    _verdicts.clear()
    if not verdicts:
        raise RuntimeError(f"the tests of {assignment} did not run: is gradkit installed "
                           "from its checkout, with its dependencies, in this kernel?")
    _verdicts.update((v["nodeid"], v) for v in verdicts)
    for name, points, most, failed in points_table(verdicts):
        note = f", {failed} test{'s' * (failed != 1)} failing (see the cells below)" if failed else ""
        print(f"{name}: {points} / {most} points{note}")


def check(nodeid: str) -> None:
    """Fail, with the kit's verdict and hint, when the test `nodeid` failed in the last run."""
    verdict = _verdicts.get(nodeid)
    if verdict is None:
        raise AssertionError(f"no result for {nodeid}: run the cell that calls run_kit_tests first")
    if not verdict["passed"]:
        raise AssertionError(render(verdict))
    print(f"{verdict['function']}: {verdict['property']}  "
          f"[{verdict['points']}/{verdict['max_points']} points]")
