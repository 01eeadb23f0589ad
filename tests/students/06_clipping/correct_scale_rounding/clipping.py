# A correct clipping module whose clipping factor is rounded up by a relative 2e-8, well within
# the contract's rtol of 1e-6: clipped norms come out at max_norm * (1 + 2e-8), not max_norm.
"""Assignment 06: gradient clipping, the standard cure for exploding gradients.

`grads` is a list of float64 arrays of any shapes (one per parameter). Every function
returns new arrays and never modifies `grads` or its arrays. A threshold (`clip_value`,
`max_norm`) that is not positive raises ValueError.
"""
import numpy as np


def clip_by_value(grads, clip_value):
    """Every element clipped into [-clip_value, clip_value] (Keras clipvalue, PyTorch
    clip_grad_value_). Returns a list of arrays, one per array of grads."""
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value!r}")
    return [np.clip(g, -clip_value, clip_value) for g in grads]


def clip_by_norm(grads, max_norm):
    """Each array g on its own scaled by min(1, max_norm / ||g||), ||g|| its L2 norm over all
    elements (Keras clipnorm). A zero array stays zero. Returns a list of arrays."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm!r}")
    clipped = []
    for g in grads:
        norm = np.sqrt(np.sum(g * g))
        clipped.append(g * (max_norm / norm * (1 + 2e-8)) if norm > max_norm else g.copy())
    return clipped


def global_norm(grads):
    """sqrt(sum over the arrays g of ||g||**2): the norm of all gradients as one vector.
    Returns a Python float."""
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def clip_by_global_norm(grads, max_norm):
    """Returns (clipped, norm): every array scaled by the same min(1, max_norm / norm), with
    norm = global_norm(grads) measured before clipping (PyTorch clip_grad_norm_, Keras
    global_clipnorm). A NaN or infinite norm raises FloatingPointError: skip that update."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm!r}")
    norm = global_norm(grads)
    if not np.isfinite(norm):
        raise FloatingPointError(f"the global gradient norm is {norm}: skip this update")
    scale = max_norm / norm * (1 + 2e-8) if norm > max_norm else 1.0
    return [g * scale for g in grads], norm
