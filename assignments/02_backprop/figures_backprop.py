"""Figures for 02 backprop, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import functools

import numpy as np

from autograder.grading.figures import norm
from autograder.grading.memo import fresh
from autograder.grading.testing import student_module
from reference import backprop as ref

backprop = student_module("backprop")

DEPTH, WIDTH = 20, 16
# A batch as wide as the layers: a backward pass with dW = x @ dout (the transpose
# forgotten) then runs, and its curve shows where it goes wrong instead of an error.
BATCH = WIDTH
# Weights N(0, gain / fan_in): gain 1 for sigmoid (LeCun), 2 for ReLU (He).
GAINS = {"sigmoid": 1.0, "relu": 2.0}
NAMES = {"sigmoid": "sigmoid", "relu": "ReLU"}


@functools.cache
def network(activation):
    """(x, params, dout) of the figure's network, the same for every student."""
    rng = np.random.default_rng(20)
    std = np.sqrt(GAINS[activation] / WIDTH)
    params = [(rng.normal(0.0, std, (WIDTH, WIDTH)), np.zeros(WIDTH)) for _ in range(DEPTH)]
    return rng.standard_normal((BATCH, WIDTH)), params, rng.standard_normal((BATCH, WIDTH))


@functools.cache
def reference_norms(activation):
    x, params, dout = network(activation)
    return tuple(norm(dW) for dW, _ in ref.mlp_grads(x, params, dout, activation))


def figure_gradient_norm_per_layer(backprop, figure):
    """Gradient per layer: sigmoid, ReLU"""
    figure.axes("layer (1 is next to the input)", "‖dL/dW‖ of the layer", log_y=True, order="backward")
    figure.caption = (
        "Your mlp_forward and mlp_backward on 20 layers of width 16. Going back from layer 20, "
        "each sigmoid layer scales the gradient by sigmoid′ ≤ 0.25 and it vanishes; ReLU with "
        "He weights keeps it.")
    layers = range(1, DEPTH + 1)
    for activation in GAINS:
        figure.reference(NAMES[activation], layers, reference_norms(activation))
        with figure.yours(NAMES[activation]) as mine:
            x, params, dout = fresh(network(activation))
            _, caches = backprop.mlp_forward(x, params, activation)
            grads = list(backprop.mlp_backward(dout, caches))
            if len(grads) != DEPTH:
                figure.note(f"your mlp_backward returned {len(grads)} (dW, db) pairs for "
                            f"{DEPTH} layers", ok=False, group=NAMES[activation])
            mine.plot(layers, [norm(pair[0]) if isinstance(pair, (tuple, list)) and pair else None
                               for pair in grads])
