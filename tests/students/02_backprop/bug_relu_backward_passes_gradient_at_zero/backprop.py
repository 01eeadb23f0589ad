# expect-fail: activation_backward
"""Bug: activation_backward writes ReLU's derivative itself as (z >= 0), passing the gradient
on where z == 0. Assignment 02 follows PyTorch and pins the derivative there to 0, which the
module's own ACTIVATIONS helper (z > 0) gets right."""
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
    return x @ W + b, (x, W)


def dense_backward(dout, cache):
    """Returns (dx, dW, db): dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def activation_forward(z, name):
    """a = act(z) for name in ACTIVATIONS; any other name raises ValueError. Returns (a, cache)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name][0](z), (z, name)


def activation_backward(da, cache):
    """dz = da * act'(z), elementwise."""
    z, name = cache
    if name == "relu":
        return da * (z >= 0)
    return da * ACTIVATIONS[name][1](z)


def mse_loss(pred, target):
    """loss = 0.5 * sum((pred - target)**2) / N as a float, N = pred.shape[0].
    Returns (loss, dpred) with dpred = dloss/dpred = (pred - target) / N."""
    n = pred.shape[0]
    diff = pred - target
    return 0.5 * float(np.sum(diff ** 2)) / n, diff / n


def mlp_forward(x, params, activation="sigmoid"):
    """Dense layer then activation, for every (W, b) in params, the last layer included.
    Returns (out, caches)."""
    caches = []
    for W, b in params:
        z, dense_cache = dense_forward(x, W, b)
        x, act_cache = activation_forward(z, activation)
        caches.append((dense_cache, act_cache))
    return x, caches


def mlp_backward(dout, caches):
    """Returns [(dW, db), ...], one pair per layer, first layer first."""
    grads = []
    for dense_cache, act_cache in reversed(caches):
        dz = activation_backward(dout, act_cache)
        dout, dW, db = dense_backward(dz, dense_cache)
        grads.append((dW, db))
    return grads[::-1]


def sgd_step(params, grads, lr):
    """A new list [(W - lr * dW, b - lr * db), ...]; params are not modified."""
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
