"""Figures for 05 residual, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import functools

import numpy as np

from autograder.grading.figures import norm
from autograder.grading.memo import fresh
from autograder.grading.testing import student_module
from reference import residual as ref

residual = student_module("residual")

DEPTH = 50


@functools.cache
def stack():
    """(x, blocks, dout): the 50 sigmoid blocks of the graded test."""
    return ref.deep_stack(depth=DEPTH)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@functools.cache
def plain_gradients():
    """||dL/dh|| at every block's input, the blocks without their skip terms."""
    x, blocks, dout = stack()
    h, saved = x, []
    for W1, b1, W2, b2 in blocks:
        a = sigmoid(h @ W1 + b1)
        saved.append(a)
        h = a @ W2 + b2
    grad, norms = dout, []
    for (W1, _, W2, _), a in zip(reversed(blocks), reversed(saved)):
        grad = ((grad @ W2.T) * a * (1 - a)) @ W1.T
        norms.append(norm(grad))
    return tuple(norms[::-1])


@functools.cache
def residual_gradients():
    x, blocks, dout = stack()
    h, inputs = x, []
    for params in blocks:
        inputs.append(h)
        h = ref.residual_forward(h, *params, "sigmoid")
    grad, norms = dout, []
    for h_in, params in zip(reversed(inputs), reversed(blocks)):
        grad = ref.residual_grads(h_in, *params, grad, "sigmoid")[0]
        norms.append(norm(grad))
    return tuple(norms[::-1])


def figure_gradient_through_residual_blocks(residual, figure):
    """Gradient through 50 blocks"""
    figure.axes("block (1 is next to the input)", "‖dL/dx‖ at the block's input", log_y=True,
                order="backward")
    figure.caption = (
        "50 sigmoid blocks x + F(x) through your residual_forward and residual_backward, and "
        "without the x +: then each block scales the gradient by W2ᵀ·sigmoid′·W1ᵀ and it vanishes.")
    blocks = range(1, DEPTH + 1)
    figure.baseline("plain blocks, no skip", blocks, plain_gradients())
    figure.reference("residual blocks", blocks, residual_gradients())
    with figure.yours("residual blocks") as mine:
        x, params, dout = fresh(stack())
        caches, h = [], x
        for block in params:
            h, cache = residual.residual_forward(h, *block, "sigmoid")
            caches.append(cache)
        grad, norms = dout, []
        try:
            for cache in reversed(caches):
                grad = residual.residual_backward(grad, cache)[0]
                norms.append(norm(grad))
        finally:  # as far as it got: the backward pass starts at block 50
            mine.plot(range(DEPTH - len(norms) + 1, DEPTH + 1), norms[::-1])
