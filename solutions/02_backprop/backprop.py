"""Assignment 02: backpropagation through a multi-layer perceptron, by the chain rule.

Shapes: x (N, fan_in), W (fan_in, fan_out), b (fan_out,), out (N, fan_out). Every backward
function receives dout = dL/dout, of out's shape, and returns the gradients of L with respect
to its forward function's inputs, each of its input's shape. `cache` is whatever your forward
function returns for its backward function: choose freely.
"""
import numpy as np


# The activations this module needs, given so that it is graded on its own.
def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
}


def dense_forward(x, W, b):
    """out = x @ W + b. Returns (out, cache)."""
    ### BEGIN SOLUTION
    return x @ W + b, (x, W)
    ### END SOLUTION


def dense_backward(dout, cache):
    """Returns (dx, dW, db): dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch."""
    ### BEGIN SOLUTION
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)
    ### END SOLUTION


def activation_forward(z, name):
    """a = act(z) for name in ACTIVATIONS; any other name raises ValueError. Returns (a, cache)."""
    ### BEGIN SOLUTION
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name][0](z), (z, name)
    ### END SOLUTION


def activation_backward(da, cache):
    """dz = da * act'(z), elementwise."""
    ### BEGIN SOLUTION
    z, name = cache
    return da * ACTIVATIONS[name][1](z)
    ### END SOLUTION


def mse_loss(pred, target):
    """loss = 0.5 * sum((pred - target)**2) / N as a float, N = pred.shape[0].
    Returns (loss, dpred) with dpred = dloss/dpred = (pred - target) / N."""
    ### BEGIN SOLUTION
    n = pred.shape[0]
    diff = pred - target
    return 0.5 * float(np.sum(diff ** 2)) / n, diff / n
    ### END SOLUTION


def mlp_forward(x, params, activation="sigmoid"):
    """Dense layer then activation, for every (W, b) in params, the last layer included.
    Returns (out, caches)."""
    ### BEGIN SOLUTION
    caches = []
    for W, b in params:
        z, dense_cache = dense_forward(x, W, b)
        x, act_cache = activation_forward(z, activation)
        caches.append((dense_cache, act_cache))
    return x, caches
    ### END SOLUTION


def mlp_backward(dout, caches):
    """Returns [(dW, db), ...], one pair per layer, first layer first."""
    ### BEGIN SOLUTION
    grads = []
    for dense_cache, act_cache in reversed(caches):
        dz = activation_backward(dout, act_cache)
        dout, dW, db = dense_backward(dz, dense_cache)
        grads.append((dW, db))
    return grads[::-1]
    ### END SOLUTION


def sgd_step(params, grads, lr):
    """A new list [(W - lr * dW, b - lr * db), ...]; params are not modified."""
    ### BEGIN SOLUTION
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    ### END SOLUTION
