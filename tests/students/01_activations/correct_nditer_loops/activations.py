"""A correct submission in scalar style: an explicit loop over np.nditer, math per element."""
import math

import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _elementwise(f, x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    with np.nditer([x, out], op_flags=[["readonly"], ["writeonly"]]) as it:
        for value, result in it:
            result[...] = f(float(value))
    return out


def _sigmoid(v):
    # math.exp raises OverflowError instead of returning inf: keep its argument <= 0.
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _elu(v, alpha):
    return v if v > 0 else alpha * math.expm1(v)


def sigmoid(x):
    return _elementwise(_sigmoid, x)


def sigmoid_grad(x):
    return _elementwise(lambda v: _sigmoid(v) * (1.0 - _sigmoid(v)), x)


def tanh(x):
    return _elementwise(math.tanh, x)


def tanh_grad(x):
    return _elementwise(lambda v: 1.0 - math.tanh(v) ** 2, x)


def relu(x):
    return _elementwise(lambda v: v if v > 0 else 0.0, x)


def relu_grad(x):
    # At exactly 0 this takes the right-hand slope, 1 (the contract accepts 0 or 1).
    return _elementwise(lambda v: 1.0 if v >= 0 else 0.0, x)


def leaky_relu(x, alpha=0.01):
    return _elementwise(lambda v: v if v > 0 else alpha * v, x)


def leaky_relu_grad(x, alpha=0.01):
    return _elementwise(lambda v: 1.0 if v > 0 else alpha, x)


def elu(x, alpha=1.0):
    return _elementwise(lambda v: _elu(v, alpha), x)


def elu_grad(x, alpha=1.0):
    return _elementwise(lambda v: 1.0 if v > 0 else alpha * math.exp(v), x)


def selu(x):
    return _elementwise(lambda v: SELU_SCALE * _elu(v, SELU_ALPHA), x)


def selu_grad(x):
    return _elementwise(lambda v: SELU_SCALE * (1.0 if v > 0 else SELU_ALPHA * math.exp(v)), x)
