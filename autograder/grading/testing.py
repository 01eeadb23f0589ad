"""What an assignment's tests import: the `graded` mark and the student-module fixture.

A test reaches student code only through a fixture made by `student_module`. Locally the
fixture holds the student's module itself; in the batch grader it holds a proxy whose
calls run in the sandbox. The test files are the same in both worlds.
"""
import pytest

from autograder.grading.plugin import SOURCE


def graded(function: str, points: int, hint: str, counts_with: str | None = None):
    """Mark a test as graded: it checks one property (its docstring) of `function`.

    `hint` is shown when the test fails: the usual mistake behind such a failure.
    `counts_with`: a function (usually `function` itself) whose value tests must all pass
    for this test to score (plugin.settle). Give it to every test that code implementing
    nothing could pass (a shape, inputs left untouched, an error raised) and to every test
    on fixed inputs, which a table of memorized answers would pass; leave it out of value
    tests, property tests comparing results on drawn (and held-out) examples.
    """
    return pytest.mark.graded(function=function, points=points, hint=hint, counts_with=counts_with)


def student_module(name: str):
    """A fixture named `name` that holds the student's module `name`.py."""

    @pytest.fixture(scope="module", name=name)
    def fixture(request):
        return request.config.stash[SOURCE].load(name, request.path.parent)

    return fixture
