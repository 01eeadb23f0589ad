"""Hypothesis strategies the assignment tests share: float64 arrays of any shape."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def floats(bound: float = 10.0, **kwargs):
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, **kwargs)


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(bound: float = 10.0, shape=None, **shape_kwargs):
    """float64 arrays with elements in [-bound, bound], of `shape` or of any shape."""
    return hnp.arrays(np.float64, shape if shape is not None else shapes(**shape_kwargs),
                      elements=floats(bound))
