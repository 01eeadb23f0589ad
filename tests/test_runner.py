"""The runner: a suite collected once and run on source after source, the examples recorded
on the solutions and replayed, private tests (private/NN_name/test_*.py) under their
assignment, and the thread settings the forked workers inherit."""
import os
import textwrap
import warnings

import pytest
from hypothesis.errors import HypothesisDeprecationWarning
from threadpoolctl import threadpool_info

from autograder import kit
from conftest import grade


from autograder.batch import runner
from autograder.submissions.loader import LocalSource

PRIVATE_TEST = '''
import numpy as np
from autograder.grading.testing import graded, student_module

activations = student_module("activations")


@graded("sigmoid", points=3, hint="private: check sigmoid at a value students rarely try")
def test_sigmoid_at_minus_two(activations):
    """sigmoid(-2) is 0.1192 to 4 decimals"""
    assert abs(float(activations.sigmoid(np.array(-2.0))) - 0.1192) < 1e-4
'''


def test_private_tests_run_with_the_public_ones_under_their_assignment(tmp_path):
    folder = tmp_path / "01_activations"
    folder.mkdir()
    (folder / "test_private_sigmoid.py").write_text(textwrap.dedent(PRIVATE_TEST))
    files = runner.test_files(["01_activations"], private=tmp_path)
    assert files[-1] == folder / "test_private_sigmoid.py"
    verdicts = runner.run_tests(files[-1:], LocalSource(kit.SOLUTIONS))
    assert [(v["assignment"], v["function"], v["points"]) for v in verdicts] == [("01_activations", "sigmoid", 3)]
    stub = runner.run_tests(files[-1:], LocalSource(kit.ASSIGNMENTS))
    assert stub[0]["points"] == 0 and "not implemented yet" in stub[0]["message"]


def test_replayed_examples_never_call_hypothesis_outside_a_property_test():
    """The Replayer runs test bodies outside Hypothesis: an assume() there is deprecated
    (and meant to become an error), so rejections belong in the strategies."""
    with runner.prepare(["03_initializers", "07_diagnostics"]) as prepared, warnings.catch_warnings():
        warnings.simplefilter("error", HypothesisDeprecationWarning)
        verdicts = runner.grade(prepared, LocalSource(kit.SOLUTIONS))
    assert [v["nodeid"] for v in verdicts if not v["passed"]] == []


def total(verdicts: list[dict]) -> int:
    return sum(v["points"] for v in verdicts)


def test_a_suite_runs_again_on_each_source_without_carrying_modules_over():
    with runner.Suite(runner.test_files(["01_activations"])) as suite:
        solutions = suite.run(LocalSource(kit.SOLUTIONS))
        stubs = suite.run(LocalSource(kit.ASSIGNMENTS))
        again = suite.run(LocalSource(kit.SOLUTIONS))
    assert total(solutions) == sum(v["max_points"] for v in solutions) > 0
    assert total(stubs) == 0 and len(stubs) == len(solutions)
    assert again == solutions


class InterruptThirdTest:
    def __init__(self):
        self.calls = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        self.calls += 1
        if self.calls == 3:
            raise KeyboardInterrupt


def test_an_interrupted_run_leaves_no_module_to_the_next_one():
    with runner.Suite(runner.test_files(["01_activations"])) as suite:
        with pytest.raises(KeyboardInterrupt):
            suite.run(LocalSource(kit.SOLUTIONS), InterruptThirdTest())
        assert total(suite.run(LocalSource(kit.ASSIGNMENTS))) == 0


def test_a_test_file_that_cannot_be_collected_stops_the_suite_with_its_name(tmp_path):
    folder = tmp_path / "01_activations"
    folder.mkdir()
    (folder / "test_private_broken.py").write_text("import no_such_module\n")
    with pytest.raises(runner.SolutionsFail, match="test_private_broken.py.*no_such_module"):
        runner.Suite(runner.test_files(["01_activations"], private=tmp_path))


def test_the_examples_do_not_depend_on_how_many_processes_record_them():
    recorded = []
    for jobs in (1, 3):
        with runner.prepare(["01_activations"], jobs=jobs) as prepared:
            recorded.append(({nodeid: repr(examples) for nodeid, examples in prepared.examples.items()},
                             prepared.plans, prepared.maxima))
    assert len(recorded[0][0]) > 10
    assert recorded[0] == recorded[1]


# Appended to a solution: every public function writes its arguments to the file named by
# $CALL_LOG before answering, so that a test sees exactly what reached the student's code.
LOG_CALLS = """

import functools as _functools
import inspect as _inspect
import os as _os


def _logging(function):
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        with open(_os.environ["CALL_LOG"], "a") as log:
            log.write(repr((function.__name__, args, sorted(kwargs.items()))).replace("\\n", " ") + "\\n")
        return function(*args, **kwargs)
    return wrapper


for _name, _value in list(globals().items()):
    if _inspect.isfunction(_value) and not _name.startswith("_") and _value.__module__ == __name__:
        globals()[_name] = _logging(_value)
"""


def test_the_grader_replays_every_example_a_students_own_run_meets(tmp_path, monkeypatch):
    """The public examples the grader replays are the ones the student's own `pytest` run
    meets, all of them, in its order: whatever that run catches, the grader catches. The
    held-out examples come after them."""
    student = tmp_path / "student"
    student.mkdir()
    source = (kit.SOLUTIONS / "07_diagnostics" / "diagnostics.py").read_text()
    (student / "diagnostics.py").write_text(source + LOG_CALLS)
    own, grader, heldout = (tmp_path / f"{name}.log" for name in ("own", "grader", "heldout"))

    monkeypatch.setenv("CALL_LOG", str(own))
    verdicts, _ = grade(student, ["07_diagnostics"], tmp_path)
    assert all(v["passed"] for v in verdicts)
    for log, secret in ((grader, None), (heldout, b"instructor")):
        monkeypatch.setenv("CALL_LOG", str(log))
        with runner.prepare(["07_diagnostics"], secret=secret) as prepared:
            log.unlink(missing_ok=True)  # preparing ran the solutions, which log nothing
            assert all(v["passed"] for v in runner.grade(prepared, LocalSource(student)))

    calls = own.read_text().splitlines()
    assert len(calls) > 200
    assert grader.read_text().splitlines() == calls
    with_heldout = heldout.read_text().splitlines()
    assert len(with_heldout) > len(calls)
    remaining = iter(with_heldout)
    assert all(call in remaining for call in calls), "the public calls, in order, among the rest"


def test_held_out_examples_come_from_the_secret_and_the_test():
    """Held-out examples are drawn anew for each test from the instructor's secret: the
    same secret gives the same ones, another secret others, and no two tests (nor a test's
    public examples) share them."""
    def recorded(secret):
        with runner.prepare(["06_clipping"], secret=secret) as prepared:
            return ({nodeid: list(map(repr, examples)) for nodeid, examples in prepared.heldout.items()},
                    {nodeid: list(map(repr, examples)) for nodeid, examples in prepared.examples.items()})

    first, public = recorded(b"one")
    again, _ = recorded(b"one")
    other, _ = recorded(b"two")
    assert first == again and len(first) >= 15
    assert all(first[nodeid] != other[nodeid] for nodeid in first)
    assert len({tuple(examples) for examples in first.values()}) == len(first), "two tests share examples"
    for nodeid, examples in first.items():
        assert len(examples) == runner.HELD_OUT_EXAMPLES, nodeid
        assert not set(examples) & set(public[nodeid]), nodeid


class BrokenRecorder:
    def __init__(self, *args):
        raise OSError("disk full")


def test_a_failure_while_recording_the_examples_is_one_line_not_a_traceback(monkeypatch):
    monkeypatch.setattr(runner, "Recorder", BrokenRecorder)
    with pytest.raises(runner.SolutionsFail, match="recording the examples failed: .*OSError: disk full"):
        runner.prepare(["07_diagnostics"])


SHARED_CONSTANT_TEST = '''
import numpy as np
from autograder.grading.testing import graded, student_module

activations = student_module("activations")
ONES = np.ones(3)


@graded("sigmoid", points=1, hint="sigmoid(1) = 0.731")
def test_sigmoid_of_a_module_constant(activations):
    """sigmoid of an array the test module keeps"""
    assert np.allclose(activations.sigmoid(ONES), 1 / (1 + np.exp(-1.0)))
'''

POISONER = '''
import numpy as np


def sigmoid(x):
    x[...] = np.nan
    return x
'''


def test_a_student_changing_a_shared_array_cannot_reach_the_next_run(tmp_path):
    (tmp_path / "private" / "01_activations").mkdir(parents=True)
    (tmp_path / "private" / "01_activations" / "test_shared.py").write_text(SHARED_CONSTANT_TEST)
    (tmp_path / "poisoner").mkdir()
    (tmp_path / "poisoner" / "activations.py").write_text(POISONER)
    files = runner.test_files(["01_activations"], private=tmp_path / "private")
    with runner.Suite(files) as suite:
        items = [item for item in suite.session.items if "module_constant" in item.name]
        assert total(suite.run(LocalSource(tmp_path / "poisoner"), items=items)) == 0
        assert total(suite.run(LocalSource(kit.SOLUTIONS), items=items)) == 1


def test_a_worker_forked_from_the_prepared_grader_runs_blas_on_one_thread():
    """OpenBLAS's own threads spin in a worker pinned to one processor (runner.one_thread).
    On a one-processor machine BLAS has one thread anyway, and this cannot fail there."""
    with runner.prepare(["07_diagnostics"]):
        pid = os.fork()
        if pid == 0:
            os._exit(0 if {pool["num_threads"] for pool in threadpool_info()} == {1} else 1)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0, threadpool_info()


@pytest.fixture(scope="module")
def whole_kit():
    """Every assignment prepared, with held-out examples."""
    with runner.prepare(kit.assignment_names(), jobs=2, secret=b"structure") as prepared:
        yield prepared


def test_every_test_a_table_could_pass_counts_only_with_a_held_out_value_test(whole_kit):
    """A test with no held-out examples (fixed inputs, which a table of memorized answers
    passes) must name, with counts_with, a function whose value tests have held-out ones;
    and every function a test counts with has such a value test."""
    verdicts = runner.grade(whole_kit, LocalSource(kit.SOLUTIONS))
    heldout = {nodeid for nodeid, examples in whole_kit.heldout.items() if examples}
    held = {(v["assignment"], v["function"]) for v in verdicts
            if not v["counts_with"] and v["nodeid"] in heldout}
    unguarded = [v["nodeid"] for v in verdicts if v["nodeid"] not in heldout and not v["counts_with"]]
    assert not unguarded, "fixed tests without counts_with:\n" + "\n".join(unguarded)
    dangling = [v["nodeid"] for v in verdicts
                if v["counts_with"] and (v["assignment"], v["counts_with"]) not in held]
    assert not dangling, "counts_with a function without a held-out value test:\n" + "\n".join(dangling)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 20])
def test_lanes_deal_every_assignment_once_in_order_and_about_evenly(whole_kit, count):
    """runner.lanes_of: consecutive assignments, all of them, in at most `count` lanes, none
    empty; dealt by the planned calls, so no lane carries more than its share and the
    largest assignment."""
    assignments = kit.assignment_names()
    lanes = runner.lanes_of(whole_kit, assignments, count)
    assert [a for lane in lanes for a in lane] == assignments
    assert all(lanes) and len(lanes) == min(count, len(assignments))
    work = {a: sum(len(r) for nodeid, plan in whole_kit.plans.items() if f"/{a}/" in nodeid
                   for r in plan.values()) for a in assignments}
    share = sum(work.values()) / len(lanes)
    for lane in lanes:
        assert sum(work[a] for a in lane) <= share + max(work.values()), (lanes, work)


def test_a_student_graded_in_lanes_gets_the_verdicts_of_one_whole_run(whole_kit):
    """Each lane runs its assignments' tests alone; joined in lane order they are the
    verdicts of the whole suite, test for test."""
    whole = runner.grade(whole_kit, LocalSource(kit.SOLUTIONS))
    for count in (2, 3):
        lanes = runner.lanes_of(whole_kit, kit.assignment_names(), count)
        parts = [{"verdicts": runner.grade(whole_kit, LocalSource(kit.SOLUTIONS), lane), "notes": [],
                  "digests": {}, "figures": None} for lane in lanes]
        assert runner.joined(parts)["verdicts"] == whole
