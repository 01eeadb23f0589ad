"""checks.assert_close accepts exactly what np.isclose(equal_nan=True) accepts, infinities
and nans included, whatever shortcut it takes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.grading.checks import assert_close

values = st.one_of(st.floats(-1e3, 1e3), st.sampled_from([np.inf, -np.inf, np.nan, 0.0, 1.0]))


def accepted(got, want) -> bool:
    try:
        assert_close(got, want, "f")
    except AssertionError:
        return False
    return True


@settings(max_examples=300, derandomize=True, database=None)
@given(want=hnp.arrays(np.float64, st.integers(1, 4), elements=values),
       noise=st.sampled_from([0.0, 1e-9, 1e-7, 1e-5, -1e-5]), data=st.data())
def test_assert_close_agrees_with_isclose(want, noise, data):
    got = data.draw(st.one_of(st.just(want * (1 + noise) + noise),
                              hnp.arrays(np.float64, want.shape, elements=values)))
    with np.errstate(all="ignore"):
        expected = bool(np.isclose(got, want, rtol=1e-6, atol=1e-9, equal_nan=True).all())
    assert accepted(got, want) == expected


@pytest.mark.parametrize("got, want", [([-np.inf], [np.inf]), ([5.0], [np.inf]),
                                       ([np.nan], [1.0]), ([1.0], [np.nan]), ([1.0], [1.001])])
def test_assert_close_refuses(got, want):
    assert not accepted(np.array(got), np.array(want))
