"""Batch norm with a dict cache, per-feature loops and the closed-form gradient
dx = (N * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (N * std)."""
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, d = x.shape
    xhat = np.empty_like(x, dtype=np.float64)
    std = np.empty(d)
    for j in range(d):
        column = x[:, j]
        m = column.mean()
        std[j] = np.sqrt(np.mean((column - m) ** 2) + eps)
        xhat[:, j] = (column - m) / std[j]
    return xhat * gamma + beta, {"xhat": xhat, "gamma": np.array(gamma), "std": std}


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    n = dout.shape[0]
    dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * std)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    keep = 1.0 - momentum
    return (keep * np.asarray(running_mean) + momentum * np.mean(x, axis=0),
            keep * np.asarray(running_var) + momentum * np.var(x, axis=0, ddof=1))


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * ((x - running_mean) / np.sqrt(running_var + eps)) + beta
