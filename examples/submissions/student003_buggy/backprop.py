# expect-fail: dense_backward, mlp_backward
"""Bug: dW = x @ dout, the transpose forgotten. It only runs when N == fan_in, and then
gives the right shape with wrong values (on 1x1 layers, as in the worked example, it is even
right), so a few hand checks miss it."""
import numpy as np


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def dense_forward(x, W, b):
    out = x @ W + b
    return out, (x, W, b)


def dense_backward(dout, cache):
    x, W, b = cache
    dx = dout @ W.T
    dW = x @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


def activation_forward(z, name):
    if name == "sigmoid":
        a = sigmoid(z)
    elif name == "tanh":
        a = np.tanh(z)
    elif name == "relu":
        a = np.maximum(0, z)
    else:
        raise ValueError("unknown activation " + repr(name))
    return a, (z, a, name)


def activation_backward(da, cache):
    z, a, name = cache
    if name == "sigmoid":
        return da * a * (1 - a)
    if name == "tanh":
        return da * (1 - a ** 2)
    return da * (z > 0)


def mse_loss(pred, target):
    N = pred.shape[0]
    loss = 0.5 * np.sum((pred - target) ** 2) / N
    dpred = (pred - target) / N
    return float(loss), dpred


def mlp_forward(x, params, activation="sigmoid"):
    caches = []
    out = x
    for W, b in params:
        z, c1 = dense_forward(out, W, b)
        out, c2 = activation_forward(z, activation)
        caches.append((c1, c2))
    return out, caches


def mlp_backward(dout, caches):
    grads = []
    for c1, c2 in reversed(caches):
        dz = activation_backward(dout, c2)
        dout, dW, db = dense_backward(dz, c1)
        grads.append((dW, db))
    return grads[::-1]


def sgd_step(params, grads, lr):
    new_params = []
    for (W, b), (dW, db) in zip(params, grads):
        new_params.append((W - lr * dW, b - lr * db))
    return new_params
