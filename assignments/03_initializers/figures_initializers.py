"""Figures for 03 initializers, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import functools

import numpy as np

from autograder.grading.testing import student_module
from reference import initializers as ref

initializers = student_module("initializers")

DEPTH, WIDTH, BATCH = 50, 64, 256
# initializer -> (gain, activation it is made for, label)
CASES = {"xavier_normal": (5.0 / 3.0, "tanh", "Xavier, tanh"),
         "he_normal": (None, "relu", "He, ReLU"),
         "lecun_normal": (None, "selu", "LeCun, SELU")}


@functools.cache
def inputs():
    return np.random.default_rng(2024).standard_normal((BATCH, WIDTH))


def contract_weights(name, gain, layer):
    """What the contract draws: numpy's default_rng(seed) scaled to the formula's std."""
    std = ref.normal_std(name, (WIDTH, WIDTH), 1.0 if gain is None else gain)
    return np.random.default_rng(layer).normal(0.0, std, size=(WIDTH, WIDTH))


@functools.cache
def reference_stds(name):
    gain, activation, _ = CASES[name]
    weights = [contract_weights(name, gain, layer) for layer in range(DEPTH)]
    return tuple(ref.activation_stds(inputs(), weights, activation))


def figure_activation_std_through_depth(initializers, figure):
    """The signal through 50 layers"""
    figure.axes("layer (1 is next to the input)", "std of the layer's output", log_y=True)
    figure.caption = (
        "256 inputs through 50 layers h ← act(h @ W), W from your initializer (seed = layer). "
        "A std off by a factor c scales the signal by c at every layer, c⁵⁰ in all.")
    layers = range(1, DEPTH + 1)
    for name, (gain, activation, label) in CASES.items():
        figure.reference(label, layers, reference_stds(name))
        with figure.yours(label) as mine:
            function = getattr(initializers, name)
            options = {} if gain is None else {"gain": gain}
            weights = [np.asarray(function((WIDTH, WIDTH), seed=layer, **options), dtype=float)
                       for layer in range(DEPTH)]
            mine.plot(layers, ref.activation_stds(inputs(), weights, activation))
