"""Assertions whose failure messages a student can act on.

Each says what was called, what came back and what was expected, in a line or two.
"""
import numpy as np

RTOL, ATOL = 1e-6, 1e-9  # the contract's tolerance for float64 results


def show(value) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=6, threshold=8, edgeitems=2).replace("\n", "")
    return repr(value)


def as_array(got, what: str, shape=None) -> np.ndarray:
    """`got` must be a numeric ndarray (of `shape`, when given).

    A numpy or Python scalar stands for a 0-d array: numpy's ufuncs return one for 0-d input.
    """
    if isinstance(got, (np.generic, float, int)) and not isinstance(got, bool):
        got = np.asarray(got)
    assert isinstance(got, np.ndarray), f"{what} returned {type(got).__name__}, expected a numpy array"
    assert got.dtype.kind in "fiub", f"{what} returned an array of dtype {got.dtype}, expected float64"
    if shape is not None:
        assert got.shape == tuple(shape), f"{what} returned shape {got.shape}, expected {tuple(shape)}"
    return got


def as_float(got, what: str) -> float:
    """`got` must be a real number: a Python float (or a numpy scalar / 0-d array of one)."""
    ok = isinstance(got, (float, int, np.floating, np.integer)) and not isinstance(got, bool)
    ok = ok or (isinstance(got, np.ndarray) and got.shape == () and got.dtype.kind in "fiu")
    assert ok, f"{what} returned {type(got).__name__}, expected a float"
    return float(got)


def assert_close(got, want, what: str, rtol: float = RTOL, atol: float = ATOL):
    """`got` equals `want` elementwise within the contract's tolerance, shape included."""
    want = np.asarray(want, dtype=np.float64)
    got = as_array(got, what, want.shape).astype(np.float64)
    with np.errstate(all="ignore"):
        # np.isclose's own test, without its handling of inf and nan, which only the rare
        # array holding one needs: a tenth of the time.
        if np.isfinite(want).all() and (np.abs(got - want) <= atol + rtol * np.abs(want)).all():
            return
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" at index {index}" if index else ""
        raise AssertionError(f"{what} gave {got[index]!r}{where}, expected {want[index]!r} "
                             f"({int(bad.sum())} of {bad.size} values differ)")


def assert_finite(got, what: str):
    got = np.asarray(got)
    assert np.isfinite(got).all(), f"{what} returned non-finite values: {show(got)}"


def assert_unchanged(before: np.ndarray, after: np.ndarray, what: str):
    assert np.array_equal(before, after, equal_nan=True), \
        f"{what} modified its input in place: return a new array instead"


def assert_at_most(got: float, bound: float, what: str, rtol: float = RTOL, atol: float = ATOL):
    """`got` <= `bound` within the contract's tolerance: a bound met up to rounding is met."""
    assert got <= bound + atol + rtol * abs(bound), f"{what} is {got!r}, above {bound!r}"


def assert_at_least(got: float, bound: float, what: str, rtol: float = RTOL, atol: float = ATOL):
    """`got` >= `bound` within the contract's tolerance."""
    assert got >= bound - atol - rtol * abs(bound), f"{what} is {got!r}, below {bound!r}"
