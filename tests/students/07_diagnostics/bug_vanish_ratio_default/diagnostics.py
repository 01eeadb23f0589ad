# Defaults vanish_ratio to 1e-2 instead of the contract's 1e-3.
# expect-fail: diagnose
"""Assignment 07: telling vanishing from exploding gradients by numbers a training loop logs.

Gradients are listed first layer (nearest the input) first. None of these functions modifies
its input.
"""
import numpy as np


def layer_grad_norms(grads):
    """A 1-D float array: the L2 (Frobenius) norm of each array of `grads`, in order.

    An array holding NaN has norm NaN; one holding infinity has norm infinity.
    """
    return np.array([np.sqrt(np.sum(np.square(g))) for g in grads], dtype=np.float64)


def diagnose(layer_norms, vanish_ratio=1e-2, explode_threshold=1e3):
    """"exploding", "vanishing" or "healthy", checked in this order:

    - "exploding" if any norm is NaN, infinite or above explode_threshold;
    - else "vanishing" if the last norm is 0 or layer_norms[0] / layer_norms[-1] < vanish_ratio
      (the first layer receives a vanishing share of what the last one gets);
    - else "healthy".
    """
    norms = np.asarray(layer_norms, dtype=np.float64)
    if not np.all(np.isfinite(norms)) or np.any(norms > explode_threshold):
        return "exploding"
    if norms[-1] == 0 or norms[0] / norms[-1] < vanish_ratio:
        return "vanishing"
    return "healthy"


def dead_relu_fraction(preactivations):
    """For pre-activations z of shape (N, H): the fraction of the H units with z <= 0 for all
    N examples (a ReLU unit that outputs 0, and so passes no gradient, on every example), as a
    float."""
    dead = np.all(preactivations <= 0, axis=0)
    return float(np.mean(dead))
