"""Run the assignment tests on one student's modules and collect the verdicts.

`prepare` runs once per batch in the warm trusted process: it imports the tests and the
oracle, records Hypothesis's examples and the calls they make (plan.py) on the solutions,
and fills the oracle's memo. `grade` then runs in workers forked from it (pool.py), once per
student against that student's source, and pays neither the imports nor the example
generation again.
"""
import importlib
import os
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import kit, memo, plan
from autograder.loader import LocalSource
from autograder.plugin import SOURCE, VERDICTS
from autograder.replay import Recorder, Replayer
from autograder.zygote import keep_freed_memory

PRIVATE = kit.ROOT / "private"
# Examples replayed per property test. A student's own run meets 25 fresh ones; the grader
# replays 12 of those the solutions met (the explicit cases and an even spread), which
# the known-bad variants in tests/students show to be enough, at half the cost.
REPLAYED_EXAMPLES = 12


def test_files(assignments: list[str], private: Path = PRIVATE) -> list[Path]:
    """The public tests of each assignment, then the instructor's private ones."""
    files = []
    for name in assignments:
        files += sorted((kit.ASSIGNMENTS / name).glob("test_*.py"))
        files += sorted((private / name).glob("test_*.py"))
    return files


# pytest's plugins that a grading run has no use for: they print, write caches, or cost time
# per test (log capture, a forced garbage collection at exit, warnings recorded for a summary
# nobody reads, Hypothesis's reporting for tests the Replayer runs itself). -s: the workers'
# output goes nowhere, so capturing it per test phase is pure cost.
QUIET = ["-s"] + [arg for name in ("terminal", "cacheprovider", "logging", "unraisableexception",
                                   "threadexception", "faulthandler", "junitxml", "pastebin",
                                   "stepwise", "doctest", "warnings", "hypothesispytest")
                  for arg in ("-p", f"no:{name}")]


class SolutionsFail(Exception):
    """The instructor's solutions fail a test: the tests cannot judge anyone."""


class Session:
    """A pytest plugin that plugs a source in and keeps the verdicts."""

    def __init__(self, source):
        self.source = source
        self.verdicts: list[dict] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        config.stash[SOURCE] = self.source

    def pytest_sessionfinish(self, session):
        self.verdicts = session.config.stash.get(VERDICTS, [])


def run_tests(files: list[Path], source, *plugins) -> list[dict]:
    session = Session(source)
    args = [*QUIET, "-p", "autograder.plugin", "-o", "addopts=", "--rootdir", str(kit.ROOT),
            *map(str, files)]
    pytest.main(args, plugins=[session, *plugins])
    return session.verdicts


@dataclass
class Prepared:
    """What the warm process knows before any student is graded."""
    files: list[Path]
    examples: dict  # test nodeid -> the examples replayed (replay.py)
    plans: dict     # test nodeid -> module -> its planned requests (plan.py)
    maxima: dict[str, int]


def prepare(assignments: list[str], private: Path = PRIVATE) -> Prepared:
    # Forked children must not inherit a started thread pool; one thread also keeps
    # grading deterministic.
    import torch
    torch.set_num_threads(1)
    sys.dont_write_bytecode = True  # nothing is written into the kit's folders
    keep_freed_memory()
    import reference
    for info in pkgutil.iter_modules(reference.__path__, "reference."):
        if not info.name.startswith("reference._"):  # helpers, whose results (tensors) must stay fresh
            memo.memoize_module(importlib.import_module(info.name))
    files = test_files(assignments, private)
    recorder = Recorder(REPLAYED_EXAMPLES, plan.CallLog(LocalSource(kit.SOLUTIONS)))
    verdicts = run_tests(files, recorder.log, recorder)
    broken = [f"{v['nodeid']}: {v['message']}" for v in verdicts if not v["passed"]]
    if broken:
        raise SolutionsFail("the solutions fail their own tests, so nothing can be graded: "
                            + "; ".join(broken[:3]))
    memo.freeze()  # the examples every student meets are cached; what else they meet is theirs
    maxima: dict[str, int] = {}
    for v in verdicts:
        maxima[v["assignment"]] = maxima.get(v["assignment"], 0) + v["max_points"]
    return Prepared(files, recorder.examples, recorder.plans, maxima)


def grade(prepared: Prepared, source) -> list[dict]:
    """Every verdict for one student, their modules reached through `source`."""
    return run_tests(prepared.files, source, Replayer(prepared.examples, prepared.plans))
