# A correct clipping module written with loops over elements and Python floats,
# scaling by max_norm / max(norm, max_norm).
import math

import numpy as np


def _check(threshold):
    if not threshold > 0:
        raise ValueError(f"threshold {threshold} is not positive")


def _sq(g):
    total = 0.0
    for v in np.asarray(g).flat:
        total += float(v) * float(v)
    return total


def clip_by_value(grads, clip_value):
    _check(clip_value)
    out = []
    for g in grads:
        c = np.empty_like(g)
        for idx in np.ndindex(g.shape):
            c[idx] = max(-clip_value, min(clip_value, g[idx]))
        out.append(c)
    return out


def clip_by_norm(grads, max_norm):
    _check(max_norm)
    return [g * (max_norm / max(math.sqrt(_sq(g)), max_norm)) for g in grads]


def global_norm(grads):
    return math.sqrt(sum(_sq(g) for g in grads))


def clip_by_global_norm(grads, max_norm):
    _check(max_norm)
    total = global_norm(grads)
    if math.isnan(total) or math.isinf(total):
        raise FloatingPointError("gradient norm is not finite")
    scale = max_norm / max(total, max_norm)
    return [g * scale for g in grads], total
