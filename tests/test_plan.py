"""Planned calls (plan.py): recorded on the solutions, they change how many round trips a
student costs and never a verdict."""
import dataclasses
import types

import numpy as np
import pytest

from autograder import kit

from autograder.batch import runner

from autograder.submissions import students
from autograder.sandbox.limits import Limits
from autograder.sandbox.plan import CallLog
from autograder.sandbox.process import Zygote, default_hidden_paths
from autograder.sandbox.replies import call_request
from autograder.sandbox.source import SandboxSource
from autograder.sandbox.wire import encode

from conftest import STUDENTS


def forward(x):
    return x * 2.0, {"squares": x ** 2}


def backward(dout, cache):
    return dout * 2.0


def scale(x, by):
    return x * by


def size(value):
    return 3


class OneModule:
    def load(self, name, test_dir):
        return types.SimpleNamespace(forward=forward, backward=backward, scale=scale, size=size,
                                     SIZE=3)


def test_a_request_holding_an_earlier_answer_is_not_planned():
    log = CallLog(OneModule())
    student = log.load("layers", None)
    x = np.arange(3.0)
    log.new_test()
    out, cache = student.forward(x)
    student.backward(np.ones(3), cache)       # the student's cache: unknown ahead
    student.scale(x, 3.0)
    student.scale(out + 0, 3.0)               # an equal copy of an answer is an answer too
    student.size(object())                    # not plain data: the sandbox would get a handle
    assert student.SIZE == 3
    assert [p.request for p in log.plan([(0, 5)])["layers"]] == [
        encode(call_request("forward", (x,), {})), None,
        encode(call_request("scale", (x, 3.0), {})), None, None]
    log.new_test()  # answers of an earlier test are no longer in the way
    student.scale(out, 3.0)
    assert [p.request for p in log.plan([(5, 6)])["layers"]] == [
        encode(call_request("scale", (out, 3.0), {}))]


def test_the_size_of_every_reply_is_logged_those_of_unplanned_calls_too():
    log = CallLog(OneModule())
    student = log.load("layers", None)
    x = np.arange(3.0)
    log.new_test()
    out, cache = student.forward(x)
    student.backward(np.ones(3), cache)
    with pytest.raises(TypeError):
        student.scale(x)  # what the sandbox would send back: an error
    replies = [p.reply for p in log.plan([(0, 3)])["layers"]]
    assert replies[0] == (len(encode({"value": (x * 2.0, {"squares": x ** 2})})), 4)
    assert replies[1] == (len(encode({"value": x * 2.0})), 1)
    assert replies[2][0] > 50 and replies[2][1] == 5  # the error's type, message...


@pytest.fixture(scope="module")
def prepared():
    with runner.prepare(["02_backprop"]) as prepared:
        yield prepared


@pytest.mark.parametrize("variant", ["correct_class_caches", "correct_scalar_loops",
                                     "bug_grads_reversed", "bug_no_valueerror"])
def test_planned_grading_gives_the_verdicts_of_unplanned_grading(prepared, variant, tmp_path):
    assert sum(r is not None for plan in prepared.plans.values()
               for requests in plan.values() for r in requests) > 100
    modules = students.student_modules(STUDENTS / "02_backprop" / variant, ["backprop"])
    unplanned = dataclasses.replace(prepared, contents={**prepared.contents, "plans": {}})
    with Zygote(hidden=default_hidden_paths(tmp_path)) as zygote:
        verdicts = []
        for how in (prepared, unplanned):
            with SandboxSource(zygote, modules, Limits(), tmp_path) as source:
                verdicts.append(runner.grade(how, source))
    assert verdicts[0] == verdicts[1]
    assert (sum(v["points"] for v in verdicts[0]) == sum(v["max_points"] for v in verdicts[0])) \
        == variant.startswith("correct")
