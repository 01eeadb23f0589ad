"""Figures for 01 activations, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import numpy as np

from autograder.grading.testing import student_module
from reference import activations as ref

activations = student_module("activations")

X = np.linspace(-5.0, 5.0, 81)
DERIVATIVES = {"sigmoid_grad": "sigmoid′", "tanh_grad": "tanh′", "relu_grad": "ReLU′"}


def figure_derivatives(activations, figure):
    """What each derivative lets through"""
    figure.axes("x (the pre-activation)", "derivative", log_y=False)
    figure.caption = ("Your sigmoid_grad, tanh_grad and relu_grad. Backprop multiplies the "
                      "gradient by them at every layer: sigmoid′ ≤ 0.25, so 10 sigmoid layers "
                      "shrink it a million-fold.")
    figure.guide(0.25, "0.25")
    for function, name in DERIVATIVES.items():
        figure.reference(name, X, getattr(ref, function)(X))
        with figure.yours(name) as mine:
            mine.plot(X, np.asarray(getattr(activations, function)(X.copy()), dtype=float).ravel())
