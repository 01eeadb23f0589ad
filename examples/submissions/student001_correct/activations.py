"""A correct submission: scalar math-module formulas lifted to arrays with np.vectorize,
sigmoid written through tanh, sigmoid(x) = (1 + tanh(x / 2)) / 2, which never overflows."""
import math

import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _lift(f):
    vectorised = np.vectorize(f, otypes=[np.float64])
    return lambda x, *args: vectorised(np.asarray(x, dtype=np.float64), *args)


def _sigmoid(v):
    return 0.5 * (1.0 + math.tanh(0.5 * v))


def _sigmoid_grad(v):
    # s (1 - s) = (1 + t)(1 - t) / 4 with t = tanh(v / 2)
    t = math.tanh(0.5 * v)
    return 0.25 * (1.0 - t * t)


def _tanh_grad(v):
    return 1.0 - math.tanh(v) ** 2


def _relu(v):
    return max(v, 0.0)


def _relu_grad(v):
    return 1.0 if v > 0 else 0.0


def _leaky_relu(v, alpha):
    return v if v > 0 else alpha * v


def _leaky_relu_grad(v, alpha):
    return 1.0 if v > 0 else alpha


def _elu(v, alpha):
    return v if v > 0 else alpha * (math.exp(v) - 1.0)


def _elu_grad(v, alpha):
    return 1.0 if v > 0 else alpha * math.exp(v)


sigmoid = _lift(_sigmoid)
sigmoid_grad = _lift(_sigmoid_grad)
tanh = _lift(math.tanh)
tanh_grad = _lift(_tanh_grad)
relu = _lift(_relu)
relu_grad = _lift(_relu_grad)
_leaky_relu_v = _lift(_leaky_relu)
_leaky_relu_grad_v = _lift(_leaky_relu_grad)
_elu_v = _lift(_elu)
_elu_grad_v = _lift(_elu_grad)


def leaky_relu(x, alpha=0.01):
    return _leaky_relu_v(x, alpha)


def leaky_relu_grad(x, alpha=0.01):
    return _leaky_relu_grad_v(x, alpha)


def elu(x, alpha=1.0):
    return _elu_v(x, alpha)


def elu_grad(x, alpha=1.0):
    return _elu_grad_v(x, alpha)


def selu(x):
    return SELU_SCALE * _elu_v(x, SELU_ALPHA)


def selu_grad(x):
    return SELU_SCALE * _elu_grad_v(x, SELU_ALPHA)
