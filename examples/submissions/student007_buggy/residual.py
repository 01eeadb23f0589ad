# Adds the branch into x in place: out is x itself, and the caller's x is changed.
# expect-fail: residual_forward
"""Assignment 05: a residual block, out = x + F(x), and its backward pass.

Shapes: x (N, D), W1 (D, H), b1 (H,), W2 (H, D), b2 (D,), out (N, D). The branch is
F(x) = act(x @ W1 + b1) @ W2 + b2; the skip term `x +` adds the input unchanged, so the
backward pass adds dout to dx unchanged: the gradient highway. `cache` is whatever your
forward function returns for your backward function: choose freely.
"""
import numpy as np


# The activations this module needs, given so that it is graded on its own:
# name -> (act, act'), both taking the pre-activation z.
def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
}


def residual_forward(x, W1, b1, W2, b2, activation="relu"):
    """out = x + act(x @ W1 + b1) @ W2 + b2, act one of ACTIVATIONS. Returns (out, cache).

    An activation name not in ACTIVATIONS raises ValueError.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: expected one of {sorted(ACTIVATIONS)}")
    act, _ = ACTIVATIONS[activation]
    z = x @ W1 + b1
    a = act(z)
    out = x
    out += a @ W2 + b2
    return out, (x, W1, W2, z, a, activation)


def residual_backward(dout, cache):
    """Returns (dx, dW1, db1, dW2, db2), each of the shape of its forward input.

    With z = x @ W1 + b1, a = act(z) and dz = (dout @ W2.T) * act'(z):
    dx = dout + dz @ W1.T   (the `dout +` is the skip term's share)
    dW1 = x.T @ dz,  db1 = dz summed over the batch,
    dW2 = a.T @ dout, db2 = dout summed over the batch.
    """
    x, W1, W2, z, a, activation = cache
    _, act_grad = ACTIVATIONS[activation]
    dz = (dout @ W2.T) * act_grad(z)
    dx = dout + dz @ W1.T
    return dx, x.T @ dz, dz.sum(axis=0), a.T @ dout, dout.sum(axis=0)
