# A correct clipping module that treats all gradients as one flat vector where it can.
import numpy as np


def _positive(threshold):
    if threshold <= 0 or np.isnan(threshold):
        raise ValueError("threshold must be positive")


def clip_by_value(grads, clip_value):
    _positive(clip_value)
    return [np.minimum(np.maximum(g, -clip_value), clip_value) for g in grads]


def clip_by_norm(grads, max_norm):
    _positive(max_norm)
    out = []
    for g in grads:
        n = np.linalg.norm(np.ravel(g))
        out.append(g * (max_norm / n) if n > max_norm else np.array(g, copy=True))
    return out


def global_norm(grads):
    if not grads:
        return 0.0
    return float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads])))


def clip_by_global_norm(grads, max_norm):
    _positive(max_norm)
    total = global_norm(grads)
    if np.isnan(total) or np.isinf(total):
        raise FloatingPointError("non-finite gradient norm")
    factor = np.minimum(1.0, max_norm / total) if total > 0 else 1.0
    return [g * factor for g in grads], total
