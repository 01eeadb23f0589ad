"""Figures for 07 diagnostics, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import functools
import warnings

import numpy as np

from autograder.grading.figures import short
from autograder.grading.memo import fresh
from autograder.grading.testing import student_module
from reference import diagnostics as ref

diagnostics = student_module("diagnostics")

# The graded tests' three training runs: network -> (label, what they are)
RUNS = {"sigmoid_20": ("sigmoid, 20 layers", "vanishing"),
        "identity_1.5": ("1.5·I, 20 layers", "exploding"),
        "he_relu": ("ReLU with He, 10 layers", "healthy")}


@functools.cache
def recorded(network):
    """Every step's weight gradients of the run, first layer first."""
    return tuple(tuple(step) for step in ref.training_gradients(network))


@functools.cache
def reference_norms(network):
    """Each step's layer norms, by the reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(tuple(float(v) for v in ref.layer_grad_norms(list(step))) for step in recorded(network))


def figure_three_training_runs(diagnostics, figure):
    """Three training runs, diagnosed"""
    figure.axes("layer (1 is next to the input)", "‖dL/dW‖ at the first step", log_y=True)
    figure.caption = (
        "Three networks' first training step, a norm per layer by your layer_grad_norms; your "
        "diagnose judged their 3 steps. Vanishing: layer 1 gets a tiny share; exploding: huge, "
        "inf or NaN.")
    right = []
    for network, (label, verdict) in RUNS.items():
        norms = reference_norms(network)
        layers = range(1, len(norms[0]) + 1)
        figure.reference(label, layers, norms[0])
        with figure.yours(label) as mine:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                got = diagnostics.layer_grad_norms(fresh(list(recorded(network)[0])))
            mine.plot(layers, np.asarray(got, dtype=float).ravel())
        with figure.guard(label, f"your diagnose on {label}"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            said = [diagnostics.diagnose(np.array(step)) for step in norms]
            wrong = [(step, value) for step, value in enumerate(said, start=1)
                     if not (isinstance(value, str) and value == verdict)]
            if wrong:
                step, value = wrong[0]
                figure.note(f"On {label} your diagnose says {short(value, 30)} at step {step} of "
                            f"{len(said)}, expected {verdict!r}.", ok=False, group=label)
            right.append(verdict if not wrong else None)
    if len(right) == len(RUNS) and all(right):
        figure.note("Your diagnose: " + ", ".join(right) + ", as expected.", ok=True)
