"""The oracle's memo: the same answer as the function, fresh copies, and no growth once frozen."""
import numpy as np

from autograder.grading import memo


def counted():
    calls = []

    def double(x, scale=2.0):
        calls.append(1)
        return [x * scale, (x.sum(), "label")]

    return memo.memoized(double), calls


def test_a_hit_returns_a_copy_the_caller_may_change(monkeypatch):
    monkeypatch.setattr(memo, "growing", True)
    double, calls = counted()
    x = np.arange(3.0)
    first = double(x)
    first[0][0] = 99.0
    again = double(x.copy())
    assert len(calls) == 1
    assert np.array_equal(again[0], [0.0, 2.0, 4.0]) and again[1] == (3.0, "label")
    double(x, scale=3.0)
    assert len(calls) == 2


def test_after_freeze_misses_are_computed_but_not_kept(monkeypatch):
    monkeypatch.setattr(memo, "growing", True)
    double, calls = counted()
    known = np.arange(3.0)
    double(known)
    memo.freeze()
    assert memo.growing is False
    other = np.ones(2)
    assert np.array_equal(double(other)[0], [2.0, 2.0])
    double(other)
    double(known)
    assert len(calls) == 3  # the known input hit, the other one was computed twice


def test_arguments_that_are_not_plain_data_are_never_cached(monkeypatch):
    monkeypatch.setattr(memo, "growing", True)
    calls = []
    f = memo.memoized(lambda g: calls.append(1) or g(1))
    f(abs)
    f(abs)
    assert len(calls) == 2
