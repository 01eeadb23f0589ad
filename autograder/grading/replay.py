"""Record Hypothesis's examples once, replay them for every student.

Generating an example costs Hypothesis about 3 ms whatever the code under test, so the batch
grader pays generation once: it runs the tests on the instructor's solutions with a
`Recorder`, which keeps the keyword arguments of each test's first examples and stops the
test there, and grades each student with a `Replayer`, which calls the test body on exactly
those examples, stopping at the first failure. Every student meets the same inputs, which also makes the grade a fairer measurement.
A test whose examples cannot be replayed (one drawing interactively with `st.data()`) keeps
running under Hypothesis.
"""

import pytest
from hypothesis.strategies import DataObject

from autograder.grading.memo import fresh
from autograder.grading.plugin import SOURCE


def hypothesis_handle(item):
    return getattr(getattr(item, "obj", None), "hypothesis", None)


def given_arguments(item, kwargs: dict) -> dict:
    """The arguments Hypothesis drew, without the fixtures and parameters pytest supplied."""
    return {k: v for k, v in kwargs.items() if k not in item.funcargs}


class _Enough(pytest.skip.Exception):
    """A test has run its budget of examples. Hypothesis lets a skip through at once, without
    running any example again, so raising one ends the generation there."""


class Recorder:
    """Keeps the examples each Hypothesis test ran with: nodeid -> [kwargs, ...], the first
    `budget` of them (more only if the test has more explicit cases), and stops the test
    there; and, from `log` (the source the tests run on), the plan of the calls each test
    makes on those examples: nodeid -> module -> requests (plan.py)."""

    def __init__(self, budget: int, log):
        self.budget, self.log = budget, log
        self.examples: dict[str, list[dict]] = {}
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
        inner, examples, interactive = handle.inner_test, [], []
        # The explicit cases (Hypothesis runs them first) all stay, then generated ones until
        # the budget is met: the first a student's own run meets.
        budget = max(self.budget, len(getattr(item.obj, "hypothesis_explicit_examples", ())))

        def recording(*args, **kwargs):
            drawn = given_arguments(item, kwargs)
            if any(isinstance(v, DataObject) for v in drawn.values()):
                interactive.append(True)
                return inner(*args, **kwargs)
            if len(examples) >= budget:
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
        except _Enough:
            pass
        finally:
            handle.inner_test = inner
        if not interactive:
            self.examples[item.nodeid] = [example for example, _ in examples]
            self.plans[item.nodeid] = self.log.plan([calls for _, calls in examples])


class Replayer:
    """Runs each recorded test body on its recorded examples instead of asking Hypothesis,
    and tells the source the calls each test is planned to make (plan.py)."""

    def __init__(self, examples: dict[str, list[dict]], plans: dict[str, dict]):
        self.examples, self.plans = examples, plans

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
        for example in examples:
            drawn = fresh(example)
            try:
                handle.inner_test(**fixtures, **drawn)
            except BaseException as error:
                shown = ", ".join(f"{k}={v!r}" for k, v in example.items())
                error.add_note(f"Falsifying example: {pyfuncitem.name}({shown})")
                raise
        return True
