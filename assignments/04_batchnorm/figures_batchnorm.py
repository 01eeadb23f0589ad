"""Figures for 04 batchnorm, drawn from the student's own functions by the batch grader
(autograder/grading/figures.py). Not graded; a student's own pytest run never collects them."""
import functools

import numpy as np

from autograder.grading.figures import norm
from autograder.grading.testing import student_module
from reference import batchnorm as ref

batchnorm = student_module("batchnorm")

DEPTH, WIDTH, BATCH = 10, 64, 128


@functools.cache
def network():
    """(x, weights, dout): the network of the graded test, h <- sigmoid(h @ W)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, WIDTH))
    weights = [rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH) for _ in range(DEPTH)]
    return x, weights, rng.standard_normal((BATCH, WIDTH))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def layer_gradients(forward=None, backward=None):
    """||dL/dW|| of every layer, first layer first, with `forward(z) -> (z, cache)` and
    `backward(dz, cache) -> dz` (a batch norm) before every sigmoid, or none."""
    x, weights, dout = network()
    h, layers = x, []
    for W in weights:
        z, cache = h @ W, None
        if forward is not None:
            z, cache = forward(z)
        a = sigmoid(np.asarray(z, dtype=float))
        layers.append((h, cache, a))
        h = a
    norms = []
    for (h_in, cache, a), W in zip(reversed(layers), reversed(weights)):
        dz = dout * a * (1 - a)
        if backward is not None:
            dz = np.asarray(backward(dz, cache), dtype=float)
        norms.append(norm(h_in.T @ dz))
        dout = dz @ W.T
    return tuple(norms[::-1])


def reference_forward(z):
    gamma, beta = np.ones(z.shape[1]), np.zeros(z.shape[1])
    return ref.batchnorm_forward(z, gamma, beta), z


def reference_backward(dz, z):
    return ref.batchnorm_grads(z, np.ones(z.shape[1]), np.zeros(z.shape[1]), dz)[0]


@functools.cache
def baseline():
    return layer_gradients()


@functools.cache
def reference():
    return layer_gradients(reference_forward, reference_backward)


def figure_gradient_with_and_without_batch_norm(batchnorm, figure):
    """Gradient per layer, batch norm"""
    figure.axes("layer (1 is next to the input)", "‖dL/dW‖ of the layer", log_y=True, order="backward")
    figure.caption = (
        "10 sigmoid layers (width 64, a batch of 128), with your batch norm before every sigmoid "
        "and without: renormalized, no layer saturates, and layer 1 gets a million times more.")
    layers = range(1, DEPTH + 1)
    figure.baseline("without batch norm", layers, baseline())
    figure.reference("batch norm", layers, reference())
    with figure.yours("batch norm") as mine:
        def forward(z):
            return batchnorm.batchnorm_forward(z, np.ones(WIDTH), np.zeros(WIDTH))

        def backward(dz, cache):
            return batchnorm.batchnorm_backward(dz, cache)[0]

        mine.plot(layers, layer_gradients(forward, backward))
