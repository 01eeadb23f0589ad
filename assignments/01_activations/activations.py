"""Assignment 01: activation functions and their derivatives.

Every function takes a float64 array `x` of any shape (0-d included) and returns a new
array of the same shape; none modifies `x`. The derivatives are what backpropagation
multiplies by at every layer: how small they can get decides whether gradients vanish.
"""
import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)), finite and warning-free for |x| <= 1000.

    exp(-x) overflows for x < -709: evaluate exp only of a non-positive number.
    """
    raise NotImplementedError("sigmoid is not implemented yet")


def sigmoid_grad(x):
    """sigma'(x) = sigma(x) * (1 - sigma(x)); at most 0.25, reached at x = 0."""
    raise NotImplementedError("sigmoid_grad is not implemented yet")


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x)."""
    raise NotImplementedError("tanh is not implemented yet")


def tanh_grad(x):
    """tanh'(x) = 1 - tanh(x)**2; at most 1, reached at x = 0."""
    raise NotImplementedError("tanh_grad is not implemented yet")


def relu(x):
    """relu(x) = max(x, 0)."""
    raise NotImplementedError("relu is not implemented yet")


def relu_grad(x):
    """1 where x > 0, 0 where x < 0 (at x = 0 we follow PyTorch: 0)."""
    raise NotImplementedError("relu_grad is not implemented yet")


def leaky_relu(x, alpha=0.01):
    """x where x > 0, alpha * x elsewhere."""
    raise NotImplementedError("leaky_relu is not implemented yet")


def leaky_relu_grad(x, alpha=0.01):
    """1 where x > 0, alpha elsewhere."""
    raise NotImplementedError("leaky_relu_grad is not implemented yet")


def elu(x, alpha=1.0):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere.

    Only the non-positive part may go through exp: exp(1000) overflows.
    """
    raise NotImplementedError("elu is not implemented yet")


def elu_grad(x, alpha=1.0):
    """1 where x > 0, alpha * exp(x) elsewhere."""
    raise NotImplementedError("elu_grad is not implemented yet")


def selu(x):
    """SELU_SCALE * elu(x, SELU_ALPHA)."""
    raise NotImplementedError("selu is not implemented yet")


def selu_grad(x):
    """SELU_SCALE * elu_grad(x, SELU_ALPHA)."""
    raise NotImplementedError("selu_grad is not implemented yet")
