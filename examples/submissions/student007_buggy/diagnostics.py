# Correct diagnostics with other equivalent formulas: np.linalg.norm on the flattened array,
# first < ratio * last, and the column maximum for dead units.
import numpy as np


def layer_grad_norms(grads):
    return np.fromiter((np.linalg.norm(np.ravel(g)) for g in grads), dtype=np.float64, count=len(grads))


def diagnose(layer_norms, vanish_ratio=1e-3, explode_threshold=1e3):
    norms = np.asarray(layer_norms, dtype=float)
    bad = np.isnan(norms) | np.isinf(norms) | (norms > explode_threshold)
    if bad.any():
        return "exploding"
    first, last = norms[0], norms[-1]
    return "vanishing" if last == 0 or first < vanish_ratio * last else "healthy"


def dead_relu_fraction(preactivations):
    dead = np.max(preactivations, axis=0) <= 0
    return dead.sum() / dead.size
