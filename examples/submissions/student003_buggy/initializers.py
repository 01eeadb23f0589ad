# expect-fail: fan_in_and_fan_out, xavier_uniform, he_normal
"""Assignment 03: weight initializers.

A weight of shape `(fan_in, fan_out)` (dense) or `(k1, ..., in, out)` (a kernel) is drawn
so that each layer neither shrinks nor grows the signal: the variance of the weights is
chosen from the number of inputs (and outputs) of a unit. Every random function takes an
integer `seed`, draws from `numpy.random.default_rng(seed)` and returns a new float64
array of `shape`: the same seed gives the same array.
"""
import math

import numpy as np


def fan_in_and_fan_out(shape):
    """(fan_in, fan_out) of a weight of `shape`, as a tuple of ints.

    2-D `(fan_in, fan_out)`: the two sizes. n-D kernel `(k1, ..., in, out)`:
    `(in * r, out * r)` with the receptive field `r = k1 * ... * k(n-2)`.
    Fewer than 2 dimensions: ValueError.
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"fan_in_and_fan_out needs at least 2 dimensions, got {shape}")
    return shape[-2], shape[-1]


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for `nonlinearity`, as a float.

    "linear", "sigmoid": 1; "tanh": 5/3; "relu": sqrt(2);
    "leaky_relu": sqrt(2 / (1 + a**2)) with a = param (0.01 when None); "selu": 3/4.
    Any other name: ValueError.
    """
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


def zeros(shape):
    """An array of zeros of `shape`."""
    return np.zeros(shape, dtype=np.float64)


def uniform(shape, low, high, seed=0):
    """Samples of U(low, high) of `shape`."""
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def xavier_uniform(shape, gain=1.0, seed=0):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -a, a, seed)


def xavier_normal(shape, gain=1.0, seed=0):
    """N(0, s**2) with s = gain * sqrt(2 / (fan_in + fan_out)), not truncated."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    s = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return np.random.default_rng(seed).normal(0.0, s, size=shape)


def he_uniform(shape, seed=0):
    """U(-a, a) with a = sqrt(6 / fan_in) (He et al., for ReLU)."""
    fan_in, _ = fan_in_and_fan_out(shape)
    a = math.sqrt(6.0 / fan_in)
    return uniform(shape, -a, a, seed)


def he_normal(shape, seed=0):
    """N(0, s**2) with s = sqrt(2 / fan_in), not truncated."""
    fan_in, _ = fan_in_and_fan_out(shape)
    return np.random.default_rng(seed).normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def lecun_uniform(shape, seed=0):
    """U(-a, a) with a = sqrt(3 / fan_in) (LeCun, for SELU)."""
    fan_in, _ = fan_in_and_fan_out(shape)
    a = math.sqrt(3.0 / fan_in)
    return uniform(shape, -a, a, seed)


def lecun_normal(shape, seed=0):
    """N(0, s**2) with s = sqrt(1 / fan_in), not truncated."""
    fan_in, _ = fan_in_and_fan_out(shape)
    return np.random.default_rng(seed).normal(0.0, math.sqrt(1.0 / fan_in), size=shape)
