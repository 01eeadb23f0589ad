# Correct diagnostics written with plain Python loops and the math module.
import math

import numpy as np


def layer_grad_norms(grads):
    norms = []
    for g in grads:
        total = 0.0
        for v in np.asarray(g).flat:
            total += float(v) * float(v)
        norms.append(math.sqrt(total))
    return np.array(norms, dtype=float)


def diagnose(layer_norms, vanish_ratio=1e-3, explode_threshold=1e3):
    values = [float(v) for v in layer_norms]
    for v in values:
        if math.isnan(v) or math.isinf(v) or v > explode_threshold:
            return "exploding"
    first, last = values[0], values[-1]
    if last == 0.0:
        return "vanishing"
    if first / last < vanish_ratio:
        return "vanishing"
    return "healthy"


def dead_relu_fraction(preactivations):
    n, h = preactivations.shape
    dead = 0
    for j in range(h):
        if all(preactivations[i, j] <= 0 for i in range(n)):
            dead += 1
    return dead / h
