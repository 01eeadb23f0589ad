"""Oracle for 06 gradient clipping, written out in torch; `grads` is a list of arrays.

It implements the course contract, scale = min(1, max_norm / norm). torch's own
clip_grad_norm_ divides by norm + 1e-6 instead; tests/test_reference_clipping.py compares
the two within a tolerance that covers that epsilon. The deep network the clipping is
tried on computes its gradients in numpy, checked there against autograd.
"""
import math

import numpy as np
import torch

from reference._autograd import numpy, tensor


def _check_threshold(value):
    if not value > 0:
        raise ValueError(f"the threshold must be positive, got {value!r}")


def _norm_t(t):
    return torch.sqrt(torch.sum(t * t))


def clip_by_value(grads, clip_value):
    _check_threshold(clip_value)
    return [numpy(torch.clamp(tensor(g), -clip_value, clip_value)) for g in grads]


def _scaled(g, norm, max_norm):
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return numpy(tensor(g) * scale)


def clip_by_norm(grads, max_norm):
    _check_threshold(max_norm)
    return [_scaled(g, _norm_t(tensor(g)).item(), max_norm) for g in grads]


def global_norm(grads):
    return math.sqrt(sum(_norm_t(tensor(g)).item() ** 2 for g in grads))


def clip_by_global_norm(grads, max_norm):
    _check_threshold(max_norm)
    norm = global_norm(grads)
    if not math.isfinite(norm):
        raise FloatingPointError(f"the global norm is {norm}: skip this update")
    return [_scaled(g, norm, max_norm) for g in grads], norm


def train_deep_network(clip=None, steps=50, depth=8, width=8, weight_std=1.5, lr=0.5, seed=0):
    """Train a deep tanh MLP (linear output layer) by full-batch SGD on fixed random data;
    return the loss before every step, stopping early at a non-finite loss.

    Its weights start large, N(0, weight_std**2), and the learning rate is large, so without
    clipping the loss explodes. `clip`, when given, is called on every step's list of
    gradients (numpy arrays, first layer first) and returns the list the update uses.

    The network is tiny (8 x 8 weights), so its gradients are written out in numpy, which
    costs a sixth of what autograd's bookkeeping does (the graded test trains it once per
    student); tests/test_reference_clipping.py checks them against autograd.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(32, width, generator=gen, dtype=torch.float64).numpy()
    y = torch.randn(32, 1, generator=gen, dtype=torch.float64).numpy()
    shapes = [(width, width)] * (depth - 1) + [(width, 1)]
    params = [(weight_std * torch.randn(shape, generator=gen, dtype=torch.float64)).numpy()
              for shape in shapes]
    losses = []
    for _ in range(steps):
        loss, grads = deep_network_loss_and_grads(params, x, y)
        losses.append(loss)
        if not math.isfinite(loss):
            break
        if clip is not None:
            grads = clip(grads)
        params = [p - lr * g for p, g in zip(params, grads)]
    return losses


def deep_network_loss_and_grads(params, x, y):
    """The loss 0.5 * mean((tanh(...tanh(x @ W1)...) @ W_last - y)**2) and its gradient
    with respect to every weight matrix, by backpropagation."""
    hidden = [x]
    for W in params[:-1]:
        hidden.append(np.tanh(hidden[-1] @ W))
    error = hidden[-1] @ params[-1] - y
    loss = float(0.5 * np.mean(error ** 2))
    dout = error / error.size
    grads = [hidden[-1].T @ dout]
    dh = dout @ params[-1].T
    for h_in, h_out, W in zip(hidden[-2::-1], hidden[:0:-1], params[-2::-1]):
        dz = dh * (1 - h_out ** 2)
        grads.append(h_in.T @ dz)
        dh = dz @ W.T
    return loss, grads[::-1]
