"""What an assignment's tests import: the `graded` mark and the student-module fixture.

A test reaches student code only through a fixture made by `student_module`. Locally the
fixture holds the student's module itself; in the batch grader it holds a proxy whose
calls run in the sandbox. The test files are the same in both worlds.
"""
import pytest

from autograder.grading.plugin import SOURCE


def graded(function: str, points: int, hint: str):
    """Mark a test as graded: it checks one property (its docstring) of `function`.

    `hint` is shown when the test fails: the usual mistake behind such a failure.
    """
    return pytest.mark.graded(function=function, points=points, hint=hint)


def student_module(name: str):
    """A fixture named `name` that holds the student's module `name`.py."""

    @pytest.fixture(scope="module", name=name)
    def fixture(request):
        return request.config.stash[SOURCE].load(name, request.path.parent)

    return fixture
