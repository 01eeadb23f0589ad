"""Run the assignment tests on one student's modules and collect the verdicts.

`prepare` runs once per batch in the warm trusted process: it imports the oracle, collects
the tests into a `Suite`, records Hypothesis's examples, public and held out (replay.py),
and the calls they make (plan.py) on the solutions, and fills the oracle's memo by running
those examples on the solutions.
`grade` then runs in workers forked from it (pool.py), once per student against that
student's source, and pays neither the imports, the collection nor the example generation
again.
"""
import hashlib
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from _pytest.config import _prepareconfig
from threadpoolctl import threadpool_limits

from autograder import kit

from autograder.grading import memo

from autograder.sandbox import plan
from autograder.sandbox.source import SandboxSource

from autograder.batch import artifact, pool
from autograder.submissions.loader import LocalSource
from autograder.grading.plugin import SOURCE, VERDICTS
from autograder.grading.plugin import settle
from autograder.grading.figures import FIGURES, PREFIX as FIGURE_PREFIX
from autograder.grading.replay import HeldOut, Recorder, Replayer
from autograder.sandbox.zygote import keep_freed_memory

PRIVATE = kit.ROOT / "private"
# Held-out examples per property test, after the 25 public ones a student's own run meets.
# One is enough to fail a table of memorized answers (tests/test_batch.py); each costs a
# class as much as a public one (about 2 sandbox calls), and 4 keep some margin for code
# fitted to the public examples in subtler ways.
HELD_OUT_EXAMPLES = 4


def figure_files(assignments: list[str]) -> list[Path]:
    """Each assignment's figures (grading/figures.py): never graded, run after the tests."""
    return [p for name in assignments for p in sorted((kit.ASSIGNMENTS / name).glob("figures_*.py"))]


def test_files(assignments: list[str], private: Path = PRIVATE) -> list[Path]:
    """The public tests of each assignment, then the instructor's private ones."""
    files = []
    for name in assignments:
        files += sorted((kit.ASSIGNMENTS / name).glob("test_*.py"))
        files += sorted((private / name).glob("test_*.py"))
    return files


# pytest's plugins that a grading run has no use for: they print, write caches, or cost time
# per test (log capture, a forced garbage collection at exit, warnings recorded for a summary
# nobody reads). -s: the workers' output goes nowhere, so capturing it per test phase is pure
# cost. No plugin installed beside the kit is loaded (Hypothesis's reporting, for tests the
# Replayer runs itself, among them): what else is installed must neither change a grade nor
# cost its imports.
QUIET = ["-s", "--disable-plugin-autoload"] + [
    arg for name in ("terminal", "cacheprovider", "logging", "unraisableexception", "threadexception",
                     "faulthandler", "junitxml", "pastebin", "stepwise", "doctest", "warnings")
    for arg in ("-p", f"no:{name}")]


class SolutionsFail(Exception):
    """The instructor's solutions fail a test, a test file cannot be collected, or the
    examples cannot be recorded: the tests cannot judge anyone."""


class Suite:
    """Test files collected once into a pytest session that stays open until `close`.

    `run` runs every test on one source, as `pytest FILES` would, and returns the verdicts.
    The batch grader runs a suite once per student in workers forked from the process that
    opened it: a student then pays for neither pytest's start-up nor the collection, a fifth
    of the cost of grading them. An item may be run again: pytest renews its fixture request
    each time (pytest-rerunfailures relies on it).
    """

    def __init__(self, files: list[Path], figures: list[Path] = ()):
        # Figure files (figure_* functions) are collected after the tests, with their plugin.
        drawing = ["-p", "autograder.grading.figures", "-o", f"python_functions=test {FIGURE_PREFIX}"] if figures else []
        args = [*QUIET, "-p", "autograder.grading.plugin", *drawing, "-o", "addopts=", "--rootdir",
                str(kit.ROOT), *map(str, [*files, *figures])]
        self.broken: list[str] = []
        self.config = _prepareconfig(args, [self])
        self.session = pytest.Session.from_config(self.config)
        self.config._do_configure()
        try:
            self.config.hook.pytest_sessionstart(session=self.session)
            self.session.perform_collect()
        except BaseException:
            self.close()
            raise
        # A student's in-place change of an argument is copied back into the test's array
        # (sandbox/remote.py), and a worker grades one student after another: arrays the tests share
        # between runs (module constants, parameters) are put back after every run, so that
        # no student's code can reach the next student's tests.
        self.shared = [(a, a.copy()) for a in shared_arrays(self.session.items)
                       if a.flags.writeable]
        if self.broken:
            self.close()
            raise SolutionsFail("a test file cannot be collected, so nothing can be graded: "
                                + "; ".join(self.broken[:3]))

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector):
        report = yield
        if report.failed:
            error = report.longreprtext.strip().splitlines()[-1].removeprefix("E").strip()
            self.broken.append(f"{collector.path}: {error}")
        return report

    def run(self, source, *plugins, items=None) -> list[dict]:
        """Every verdict of the tests (or of `items`, some of them), their student modules
        reached through `source`, with `plugins` registered for this run alone."""
        config = self.config
        items = self.session.items if items is None else items
        config.stash[SOURCE], config.stash[VERDICTS], config.stash[FIGURES] = source, [], []
        for plugin in plugins:
            config.pluginmanager.register(plugin)
        try:
            for item, nextitem in zip(items, [*items[1:], None]):
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        finally:
            # However the run ended, no fixture outlives it: the next run must not meet
            # this source's modules.
            if items:
                items[0].ihook.pytest_runtest_teardown(item=items[0], nextitem=None)
            for array, saved in self.shared:
                np.copyto(array, saved)
            for plugin in plugins:
                config.pluginmanager.unregister(plugin)
        return settle(config.stash[VERDICTS])

    def close(self):
        try:
            self.config.hook.pytest_sessionfinish(session=self.session, exitstatus=0)
        finally:
            self.config._ensure_unconfigure()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def shared_arrays(items) -> list[np.ndarray]:
    """The arrays in the test modules' globals and in the tests' parameters, by identity."""
    found = {}

    def walk(value, depth):
        if type(value) is np.ndarray:
            found[id(value)] = value
        elif type(value) in (list, tuple) and depth < 4:
            for item in value:
                walk(item, depth + 1)
        elif type(value) is dict and depth < 4:
            for item in value.values():
                walk(item, depth + 1)

    modules = {id(item.module): item.module for item in items if item.module}
    for module in modules.values():
        walk(list(vars(module).values()), 0)
    for item in items:
        walk(list(getattr(getattr(item, "callspec", None), "params", {}).values()), 0)
    return list(found.values())


def run_tests(files: list[Path], source) -> list[dict]:
    """The verdicts of one run of the tests in `files` on `source`."""
    with Suite(files) as suite:
        return suite.run(source)


@dataclass
class Prepared:
    """What the warm process knows before any student is graded; `close` it when done.
    contents: what `make` made, plain data (examples, held-out examples, plans, maxima,
    the oracle's memo)."""
    suite: Suite
    contents: dict

    examples = property(lambda self: self.contents["examples"])  # nodeid -> public examples
    heldout = property(lambda self: self.contents["heldout"])    # nodeid -> held-out ones
    plans = property(lambda self: self.contents["plans"])        # nodeid -> module -> requests
    maxima = property(lambda self: self.contents["maxima"])      # assignment -> points

    def close(self):
        self.suite.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def one_thread():
    """Have torch and numpy's BLAS run on one thread each, here and in the processes this one
    forks: they must not inherit a started thread pool, and one thread keeps grading
    deterministic. In a worker pinned to one processor, with torch imported, OpenBLAS's
    threads spin: a layer's backward product, a (128, 64) by a (64, 64) transposed, took 8 ms
    of a core instead of 51 us (bench/blas_in_a_worker.py)."""
    import torch
    torch.set_num_threads(1)
    threadpool_limits(1)


def prepare(assignments: list[str], private: Path = PRIVATE, jobs: int = 1,
            secret: bytes | None = None, figures: bool = False, saved: Path | None = None,
            echo=lambda line: None, contents: dict | None = None) -> Prepared:
    """Open the suite of `assignments`, record its examples in `jobs` processes (held-out
    ones too when given the instructor's `secret`), and fill the oracle's memo by running
    them on the solutions, which must pass. With `figures`, the assignments' figures run
    after the tests (grading/figures.py), on the solutions too: the reference's curves are
    computed here, once, before the workers fork.

    All but opening the suite can come ready-made: as `contents` (what `make` made, sent
    to a cluster's worker), or from `saved` (with a `secret`), a file it is loaded from
    when made from the same tests, solutions, engine and secret (artifact.py) and written
    to otherwise; `echo` says which."""
    one_thread()
    sys.dont_write_bytecode = True  # nothing is written into the kit's folders
    keep_freed_memory()
    import reference
    for info in pkgutil.iter_modules(reference.__path__, "reference."):
        if not info.name.startswith("reference._"):  # helpers, whose results (tensors) must stay fresh
            memo.memoize_module(importlib.import_module(info.name))
    suite = Suite(test_files(assignments, private), figure_files(assignments) if figures else [])
    try:
        made_from = None
        if contents is None and saved is not None and secret is not None:
            made_from = artifact.fingerprint(assignments, secret, private, figures)
            try:
                contents = artifact.load(saved, made_from, secret)
            except artifact.Unusable as why:
                echo(f"{why}; preparing the tests again")
            else:
                if contents is not None:
                    echo(f"prepared tests loaded from {saved}")
        if contents is None:
            echo(f"preparing the tests of {', '.join(assignments)} ...")
            contents = make(suite, jobs, secret)
            if made_from is not None:
                try:
                    artifact.save(saved, contents, made_from, secret)
                except OSError as error:
                    echo(f"cannot keep the prepared tests in {saved}: {error.strerror or error}; "
                         "the next run prepares them again")
        else:
            memo.restore(contents["memo"])
    except BaseException:
        suite.close()
        raise
    memo.freeze()  # the examples every student meets are cached; what else they meet is theirs
    return Prepared(suite, contents)


def make(suite: Suite, jobs: int, secret: bytes | None) -> dict:
    """What preparing makes, as plain data: the examples and plans recorded on the
    solutions, the points of each assignment, and the oracle's memo filled by running the
    solutions on them."""
    heldout = HeldOut(secret, HELD_OUT_EXAMPLES) if secret is not None else None
    examples, heldout_examples, plans = record(suite, jobs, heldout)
    verdicts = suite.run(LocalSource(kit.SOLUTIONS), Replayer(examples, heldout_examples, plans))
    solutions_pass(verdicts)
    maxima: dict[str, int] = {}
    for v in verdicts:
        maxima[v["assignment"]] = maxima.get(v["assignment"], 0) + v["max_points"]
    # In test order, whichever recording process finished first: the same kit makes the
    # same file (and the same Gradescope zip).
    order = [item.nodeid for item in suite.session.items]
    def ordered(by_test: dict) -> dict:
        return {nodeid: by_test[nodeid] for nodeid in order if nodeid in by_test}
    return {"examples": ordered(examples), "heldout": ordered(heldout_examples), "plans": ordered(plans),
            "maxima": maxima, "memo": memo.saved()}


def record(suite: Suite, jobs: int, heldout: HeldOut | None = None) -> tuple[dict, dict, dict]:
    """The examples of every test and the plans of their calls, recorded on the solutions
    (replay.py), the tests dealt out to `jobs` processes forked from this one: generating
    examples is most of the time preparing takes, and a test's examples depend on that
    test alone (Hypothesis derandomized), not on the process that runs it."""
    items = suite.session.items
    shards = [shard for k in range(jobs) if (shard := items[k::jobs])]

    def work(k):  # a shard's number: the workers have the shards, forked with them
        shard = shards[k]
        recorder = Recorder(plan.CallLog(LocalSource(kit.SOLUTIONS)), heldout)
        verdicts = suite.run(recorder.log, recorder, items=shard)
        return {"examples": recorder.examples, "heldout": recorder.heldout,
                "plans": recorder.plans, "verdicts": verdicts}

    examples, heldout_examples, plans, verdicts = {}, {}, {}, []

    def done(k, result):
        if "error" in result:
            raise SolutionsFail(f"recording the examples failed: {result['error']}")
        examples.update(result["examples"])
        heldout_examples.update(result["heldout"])
        plans.update(result["plans"])
        verdicts.extend(result["verdicts"])

    pool.run(list(range(len(shards))), work, jobs, done)
    # A test the solutions fail keeps only the examples before the failure: the run on
    # them in prepare() would pass.
    solutions_pass(verdicts)
    return examples, heldout_examples, plans


def solutions_pass(verdicts: list[dict]):
    broken = [f"{v['nodeid']}: {v['message']}" for v in verdicts if not v["passed"]]
    if broken:
        raise SolutionsFail("the solutions fail their own tests, so nothing can be graded: "
                            + "; ".join(broken[:3]))


def grade(prepared: Prepared, source, assignments=None) -> list[dict]:
    """Every verdict for one student, their modules reached through `source`; with
    `assignments`, those of their tests (and figures) alone."""
    items = prepared.suite.session.items
    if assignments is not None:
        items = [item for item in items if item.path.parent.name in assignments]
    return prepared.suite.run(source, Replayer(prepared.examples, prepared.heldout, prepared.plans),
                              items=items)


def lanes_of(prepared: Prepared, assignments: list[str], count: int) -> list[list[str]]:
    """`assignments` dealt into at most `count` lanes of consecutive assignments, each about
    as much work as the others, to grade one student on `count` processors at once. The work
    is the calls the tests are planned to make (plans): known ahead, the same on every
    machine, so a student's lanes are too."""
    work = dict.fromkeys(assignments, 0)
    for item in prepared.suite.session.items:
        if item.path.parent.name in work:
            work[item.path.parent.name] += sum(map(len, prepared.plans.get(item.nodeid, {}).values()))
    total, before, dealt = sum(work.values()), 0, [[]]
    for assignment in assignments:
        # A new lane when this assignment's middle lies past the current lane's share.
        if dealt[-1] and len(dealt) < count and before + work[assignment] / 2 > total * len(dealt) / count:
            dealt.append([])
        dealt[-1].append(assignment)
        before += work[assignment]
    return dealt


def grade_student(prepared: Prepared, zygote, modules: dict, notes: list[str], limits, scratch: Path,
                  figures: bool, assignments=None, lanes=None) -> dict:
    """Grade one student's `modules` (name -> (file name, source text), or a one-line
    problem) in sandboxes forked from `zygote`, their working folders in `scratch`: their
    verdicts, `notes` and what had to be stopped, the digest of each module graded, and
    the figures drawn (None without `figures`). Plain data, whoever asked.

    `assignments`: grade those alone (a lane); `lanes`: the memory the student's lanes
    share (budget.shared) and this lane's number, or None."""
    with SandboxSource(zygote, modules, limits, scratch, lanes) as source:
        verdicts = grade(prepared, source, assignments)
        drawing = drawn(prepared) if figures else None
        notes = [*notes, *source.stopped]
    digests = {name: hashlib.sha256(value[1].encode()).hexdigest()
               for name, value in modules.items() if not isinstance(value, str)}
    return {"verdicts": verdicts, "notes": notes, "digests": digests, "figures": drawing}


def joined(results: list[dict]) -> dict:
    """One student's result from those of their lanes (grade_student's), in lane order; a
    lane's error is the student's."""
    for result in results:
        if "error" in result:
            return result
    return {"verdicts": [v for r in results for v in r["verdicts"]],
            # A problem of the whole submission (a zip refused) is every lane's note.
            "notes": list(dict.fromkeys(n for r in results for n in r["notes"])),
            "digests": {name: d for r in results for name, d in r["digests"].items()},
            "figures": None if results[0]["figures"] is None else [f for r in results for f in r["figures"]]}


def drawn(prepared: Prepared) -> list[dict]:
    """The figures the last `grade` drew (grading/figures.py), as plain data."""
    return list(prepared.suite.config.stash.get(FIGURES, []))
