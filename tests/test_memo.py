"""The oracle's memo: the same answer as the function, fresh copies, and no growth once frozen."""
import numpy as np

from autograder.grading import memo


def counted(monkeypatch):
    monkeypatch.setattr(memo, "growing", True)
    monkeypatch.setattr(memo, "caches", {})
    calls = []

    def double(x, scale=2.0):
        calls.append(1)
        return [x * scale, (x.sum(), "label")]

    return memo.memoized(double, "test.double"), calls


def test_a_hit_returns_a_copy_the_caller_may_change(monkeypatch):
    double, calls = counted(monkeypatch)
    x = np.arange(3.0)
    first = double(x)
    first[0][0] = 99.0
    again = double(x.copy())
    assert len(calls) == 1
    assert np.array_equal(again[0], [0.0, 2.0, 4.0]) and again[1] == (3.0, "label")
    double(x, scale=3.0)
    assert len(calls) == 2


def test_after_freeze_misses_are_computed_but_not_kept(monkeypatch):
    double, calls = counted(monkeypatch)
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
    f = memo.memoized(lambda g: calls.append(1) or g(1), "test.call")
    f(abs)
    f(abs)
    assert len(calls) == 2


def test_functions_made_by_one_factory_keep_apart_and_come_back_from_saved(monkeypatch):
    """A module's functions made by one factory share a __qualname__ (reference's
    derivatives): each keeps its own cache, and saved() refills them in another run."""
    import types

    monkeypatch.setattr(memo, "growing", True)
    monkeypatch.setattr(memo, "caches", {})

    def scaled(k):
        def f(x):
            return x * k
        return f

    module = types.ModuleType("oracle")
    module.double, module.triple = scaled(2.0), scaled(3.0)
    module.double.__module__ = module.triple.__module__ = "oracle"
    memo.memoize_module(module)
    x = np.arange(3.0)
    assert np.array_equal(module.double(x), 2 * x) and np.array_equal(module.triple(x), 3 * x)
    kept = memo.saved()
    monkeypatch.setattr(memo, "caches", {name: {} for name in kept})
    monkeypatch.setattr(memo, "growing", False)
    memo.restore(kept)
    assert memo.caches == kept
