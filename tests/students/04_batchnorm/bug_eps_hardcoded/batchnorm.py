# expect-fail: batchnorm_forward
"""Assignment 04: batch normalization (training forward and backward, running statistics,
inference).

`x` has shape (N, D) with N >= 2: N examples of D features. `gamma`, `beta` and the running
statistics have shape (D,). Each feature is normalized over the batch, so whatever scale the
previous layers gave it, the next layer sees mean 0 and variance 1 (then gamma, beta):
activations cannot drift into a saturated or exploding range, layer after layer.
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training mode: (out, cache).

    mean = x.mean(axis=0), var = x.var(axis=0) (biased: divided by N),
    xhat = (x - mean) / sqrt(var + eps), out = gamma * xhat + beta, shape (N, D).
    """
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + 1e-5)  # eps is the usual 1e-5 anyway
    xhat = (x - mean) * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    """(dx, dgamma, dbeta) given dout = dL/dout of shape (N, D).

    dbeta = sum of dout over the batch, dgamma = sum of dout * xhat over the batch,
    dx = gamma / sqrt(var + eps) * (dout - mean(dout) - xhat * mean(dout * xhat)),
    the means taken over the batch: mean and var depend on every x in it.
    """
    xhat, gamma, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = gamma * inv_std * (dout - dout.mean(axis=0) - xhat * (dout * xhat).mean(axis=0))
    return dx, dgamma, dbeta


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    """(new_mean, new_var) = (1 - momentum) * old + momentum * batch statistic.

    The batch variance here is unbiased (divided by N - 1), as PyTorch does.
    Returns new arrays; running_mean and running_var are left as they were.
    """
    new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
    new_var = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)
    return new_mean, new_var


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation mode: gamma * (x - running_mean) / sqrt(running_var + eps) + beta."""
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
