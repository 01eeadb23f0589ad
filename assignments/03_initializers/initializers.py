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
    raise NotImplementedError("fan_in_and_fan_out is not implemented yet")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for `nonlinearity`, as a float.

    "linear", "sigmoid": 1; "tanh": 5/3; "relu": sqrt(2);
    "leaky_relu": sqrt(2 / (1 + a**2)) with a = param (0.01 when None); "selu": 3/4.
    Any other name: ValueError.
    """
    raise NotImplementedError("calculate_gain is not implemented yet")


def zeros(shape):
    """An array of zeros of `shape`."""
    raise NotImplementedError("zeros is not implemented yet")


def uniform(shape, low, high, seed=0):
    """Samples of U(low, high) of `shape`."""
    raise NotImplementedError("uniform is not implemented yet")


def xavier_uniform(shape, gain=1.0, seed=0):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    raise NotImplementedError("xavier_uniform is not implemented yet")


def xavier_normal(shape, gain=1.0, seed=0):
    """N(0, s**2) with s = gain * sqrt(2 / (fan_in + fan_out)), not truncated."""
    raise NotImplementedError("xavier_normal is not implemented yet")


def he_uniform(shape, seed=0):
    """U(-a, a) with a = sqrt(6 / fan_in) (He et al., for ReLU)."""
    raise NotImplementedError("he_uniform is not implemented yet")


def he_normal(shape, seed=0):
    """N(0, s**2) with s = sqrt(2 / fan_in), not truncated."""
    raise NotImplementedError("he_normal is not implemented yet")


def lecun_uniform(shape, seed=0):
    """U(-a, a) with a = sqrt(3 / fan_in) (LeCun, for SELU)."""
    raise NotImplementedError("lecun_uniform is not implemented yet")


def lecun_normal(shape, seed=0):
    """N(0, s**2) with s = sqrt(1 / fan_in), not truncated."""
    raise NotImplementedError("lecun_normal is not implemented yet")
