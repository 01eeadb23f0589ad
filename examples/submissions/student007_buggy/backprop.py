"""A correct submission: caches as dicts, activation derivatives taken from the stored
outputs, the backward pass over layer indices in reverse into a preallocated list."""
import numpy as np


def _sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# name -> (function, derivative written in terms of the output a = f(z))
_ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(np.float64)),
}


def dense_forward(x, W, b):
    return x @ W + b, {"x": x, "W": W}


def dense_backward(dout, cache):
    dx = dout @ cache["W"].T
    dW = cache["x"].T @ dout
    db = np.sum(dout, axis=0)
    return dx, dW, db


def activation_forward(z, name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation: {name!r}")
    a = _ACTIVATIONS[name][0](z)
    return a, {"name": name, "a": a}


def activation_backward(da, cache):
    return da * _ACTIVATIONS[cache["name"]][1](cache["a"])


def mse_loss(pred, target):
    n = pred.shape[0]
    diff = pred - target
    return float(0.5 * np.sum(diff * diff) / n), diff / n


def mlp_forward(x, params, activation="sigmoid"):
    caches = []
    a = x
    for W, b in params:
        z, dense_cache = dense_forward(a, W, b)
        a, act_cache = activation_forward(z, activation)
        caches.append({"dense": dense_cache, "act": act_cache})
    return a, caches


def mlp_backward(dout, caches):
    grads = [None] * len(caches)
    delta = dout
    for i in range(len(caches) - 1, -1, -1):
        dz = activation_backward(delta, caches[i]["act"])
        delta, dW, db = dense_backward(dz, caches[i]["dense"])
        grads[i] = (dW, db)
    return grads


def sgd_step(params, grads, lr):
    new = []
    for i in range(len(params)):
        W, b = params[i]
        dW, db = grads[i]
        new.append((W - lr * dW, b - lr * db))
    return new
