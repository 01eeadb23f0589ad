# A correct residual block written one example and one unit at a time.
import math

import numpy as np


def _act(name, v):
    if name == "relu":
        return v if v > 0 else 0.0
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))
    if name == "tanh":
        return math.tanh(v)
    raise ValueError(name)


def _act_grad(name, v):
    if name == "relu":
        return 1.0 if v > 0 else 0.0
    s = _act(name, v)
    return s * (1.0 - s) if name == "sigmoid" else 1.0 - s * s


def residual_forward(x, W1, b1, W2, b2, activation="relu"):
    n, d = x.shape
    h = W1.shape[1]
    z = np.zeros((n, h))
    a = np.zeros((n, h))
    out = np.zeros((n, d))
    for i in range(n):
        for j in range(h):
            z[i, j] = b1[j] + sum(x[i, k] * W1[k, j] for k in range(d))
            a[i, j] = _act(activation, z[i, j])
        for k in range(d):
            out[i, k] = x[i, k] + b2[k] + sum(a[i, j] * W2[j, k] for j in range(h))
    return out, [x.copy(), W1.copy(), W2.copy(), z, a, activation]


def residual_backward(dout, cache):
    x, W1, W2, z, a, activation = cache
    n, d = x.shape
    h = W1.shape[1]
    dx = np.zeros((n, d))
    dW1, db1 = np.zeros((d, h)), np.zeros(h)
    dW2, db2 = np.zeros((h, d)), np.zeros(d)
    for i in range(n):
        dz = np.zeros(h)
        for j in range(h):
            da = sum(dout[i, k] * W2[j, k] for k in range(d))
            dz[j] = da * _act_grad(activation, z[i, j])
            db1[j] += dz[j]
            for k in range(d):
                dW2[j, k] += a[i, j] * dout[i, k]
        for k in range(d):
            db2[k] += dout[i, k]
            dx[i, k] = dout[i, k] + sum(dz[j] * W1[k, j] for j in range(h))
            for j in range(h):
                dW1[k, j] += x[i, k] * dz[j]
    return dx, dW1, db1, dW2, db2
