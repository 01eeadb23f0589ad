"""The command-line options of a student's `pytest` run, registered where pytest reads
them before anything else (a pytest11 entry point, pyproject.toml).

Registered by the plugin itself (loaded by assignments/conftest.py), `--student-dir PATH`
was unknown while pytest chose its root folder: it took PATH for a test path, settled in
the common ancestor of the two, and never read the conftest that would have registered the
option. The options live here alone; plugin.py reads them.
"""
from pathlib import Path


def pytest_addoption(parser):
    group = parser.getgroup("gradkit")
    group.addoption("--student-dir", type=Path, default=None,
                    help="grade the modules found below this folder instead of the ones "
                         "beside the tests")
    group.addoption("--gradkit-results", type=Path, default=None,
                    help="write every graded test's verdict to this JSON file")
