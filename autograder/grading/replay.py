"""Record Hypothesis's examples once, replay them for every student.

Generating an example costs Hypothesis about 3 ms whatever the code under test, so the batch
grader pays generation once: it runs the tests on the instructor's solutions with a
`Recorder` and grades each student with a `Replayer`, which calls the test body on exactly
the recorded examples, stopping at the first failure. Every student meets the same inputs.

Each property test is recorded twice:
- public: every example the student's own `pytest` run meets, in its order (the same
  derandomized Hypothesis run), so that whatever that run catches the grader catches;
- held out: `HeldOut.count` more, drawn from the same strategy with a seed made from the
  instructor's secret and the test's node id, so that they can be neither seen nor
  derived by a student, and no two tests share them. A held-out failure is a
  `HeldOutFailure`: the verdict names the property and the hint, and keeps the example
  itself for the instructor (outputs show it only once the grades are published).
A test whose examples cannot be replayed (one drawing interactively with `st.data()`) keeps
running under Hypothesis, public examples only.
"""
import functools
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from hypothesis import seed
from hypothesis.strategies import DataObject

from autograder.grading.memo import fresh, key
from autograder.grading.plugin import SOURCE, HeldOutFailure


@dataclass(frozen=True)
class HeldOut:
    """The held-out examples to draw: `count` per property test, seeded by `secret`."""
    secret: bytes
    count: int

    def seed(self, nodeid: str) -> int:
        return int.from_bytes(hashlib.sha256(self.secret + b"\0" + nodeid.encode()).digest()[:16], "big")


def hypothesis_handle(item):
    return getattr(getattr(item, "obj", None), "hypothesis", None)


def given_arguments(item, kwargs: dict) -> dict:
    """The arguments Hypothesis drew, without the fixtures and parameters pytest supplied."""
    return {k: v for k, v in kwargs.items() if k not in item.funcargs}


@contextmanager
def seeded(test, value: int):
    """`test` (a @given test) draws from `value` instead of its derandomized seed, until the
    block ends. hypothesis.seed records the seed among the test's attributes, which a
    parametrized test's items share: they are put back as they were."""
    saved = dict(vars(test))
    seed(value)(test)
    try:
        yield
    finally:
        vars(test).clear()
        vars(test).update(saved)


class _Enough(pytest.skip.Exception):
    """A test has run its budget of examples. Hypothesis lets a skip through at once, without
    running any example again, so raising one ends the generation there."""


class Recorder:
    """Keeps the examples each Hypothesis test ran with, public (nodeid -> [kwargs, ...])
    and held out (`heldout`, the same), and, from `log` (the source the tests run on), the
    plan of the calls each test makes on them, public first: nodeid -> module -> requests
    (plan.py)."""

    def __init__(self, log, heldout: HeldOut | None = None):
        self.log, self.drawing = log, heldout
        self.examples: dict[str, list[dict]] = {}
        self.heldout: dict[str, list[dict]] = {}
        self.plans: dict[str, dict] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        self.log.new_test()
        start = len(self.log.entries)
        handle = hypothesis_handle(item)
        if handle is None:
            yield
            self.plans[item.nodeid] = self.log.plan([(start, len(self.log.entries))])
            return
        public, interactive = [], []
        with self.recording(item, handle, public, interactive):
            yield
        if interactive:
            return
        heldout = []
        if self.drawing and self.drawing.count:
            self.log.new_test()
            # The explicit cases come first in every Hypothesis run, and its first generated
            # example is the simplest whatever the seed: those are public already.
            public_keys = {key(example) for example, _ in public}
            with self.recording(item, handle, heldout, interactive, skip=public_keys.__contains__,
                                budget=self.drawing.count), seeded(item.obj, self.drawing.seed(item.nodeid)):
                try:
                    item.runtest()
                except _Enough:
                    pass
            self.heldout[item.nodeid] = [example for example, _ in heldout]
        self.examples[item.nodeid] = [example for example, _ in public]
        self.plans[item.nodeid] = self.log.plan([calls for _, calls in public + heldout])

    @contextmanager
    def recording(self, item, handle, examples: list, interactive: list, skip=None, budget=None):
        """While the block runs, each example the test body meets is appended to `examples`
        with the span of calls it made, but those whose memo.key `skip` says to leave out,
        until `budget` is met."""
        inner = handle.inner_test

        # Hypothesis seeds a derandomized test from a digest of `inner_test` (its source,
        # signature and parametrization), read when the test runs: the wrapper must digest
        # as the test body does, or the examples recorded are not the student's.
        @functools.wraps(inner)
        def recording(*args, **kwargs):
            drawn = given_arguments(item, kwargs)
            if any(isinstance(v, DataObject) for v in drawn.values()):
                interactive.append(True)
                return inner(*args, **kwargs)
            if skip is not None and skip(key(drawn)):
                return None
            if budget is not None and len(examples) >= budget:
                raise _Enough
            kept = fresh(drawn)
            start = len(self.log.entries)
            result = inner(*args, **kwargs)
            # Only examples the solutions pass on: one rejected by assume() is not a case.
            examples.append((kept, (start, len(self.log.entries))))
            return result

        handle.inner_test = recording
        try:
            yield
        finally:
            handle.inner_test = inner


class Replayer:
    """Runs each recorded test body on its public examples, then on its held-out ones,
    instead of asking Hypothesis, and tells the source the calls each test is planned to
    make (plan.py)."""

    def __init__(self, examples: dict[str, list[dict]], heldout: dict[str, list[dict]],
                 plans: dict[str, dict]):
        self.examples, self.heldout, self.plans = examples, heldout, plans

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        plan = self.plans.get(item.nodeid)
        if plan is None:
            yield
            return
        source = item.config.stash[SOURCE]
        source.expect(plan)
        yield
        source.expect({})

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        examples = self.examples.get(pyfuncitem.nodeid)
        handle = hypothesis_handle(pyfuncitem)
        if examples is None or handle is None:
            return None
        fixtures = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        heldout = self.heldout.get(pyfuncitem.nodeid, [])
        for number, example in enumerate(examples + heldout):
            try:
                handle.inner_test(**fixtures, **fresh(example))
            except BaseException as error:
                shown = ", ".join(f"{k}={v!r}" for k, v in example.items())
                error.add_note(f"Falsifying example: {pyfuncitem.name}({shown})")
                if number < len(examples) or not isinstance(error, Exception):
                    raise
                raise HeldOutFailure(len(heldout)) from error
        return True
