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
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


def sigmoid_grad(x):
    """sigma'(x) = sigma(x) * (1 - sigma(x)); at most 0.25, reached at x = 0."""
    ### BEGIN SOLUTION
    s = sigmoid(x)
    return s * (1.0 - s)
    ### END SOLUTION


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x)."""
    ### BEGIN SOLUTION
    return np.tanh(x)
    ### END SOLUTION


def tanh_grad(x):
    """tanh'(x) = 1 - tanh(x)**2; at most 1, reached at x = 0."""
    ### BEGIN SOLUTION
    return 1.0 - np.tanh(x) ** 2
    ### END SOLUTION


def relu(x):
    """relu(x) = max(x, 0)."""
    ### BEGIN SOLUTION
    return np.maximum(x, 0.0)
    ### END SOLUTION


def relu_grad(x):
    """1 where x > 0, 0 where x < 0 (at x = 0 we follow PyTorch: 0)."""
    ### BEGIN SOLUTION
    return (np.asarray(x) > 0).astype(np.float64)
    ### END SOLUTION


def leaky_relu(x, alpha=0.01):
    """x where x > 0, alpha * x elsewhere."""
    ### BEGIN SOLUTION
    return np.where(x > 0, x, alpha * np.asarray(x, dtype=np.float64))
    ### END SOLUTION


def leaky_relu_grad(x, alpha=0.01):
    """1 where x > 0, alpha elsewhere."""
    ### BEGIN SOLUTION
    return np.where(np.asarray(x) > 0, 1.0, alpha)
    ### END SOLUTION


def elu(x, alpha=1.0):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere.

    Only the non-positive part may go through exp: exp(1000) overflows.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    ### END SOLUTION


def elu_grad(x, alpha=1.0):
    """1 where x > 0, alpha * exp(x) elsewhere."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
    ### END SOLUTION


def selu(x):
    """SELU_SCALE * elu(x, SELU_ALPHA)."""
    ### BEGIN SOLUTION
    return SELU_SCALE * elu(x, SELU_ALPHA)
    ### END SOLUTION


def selu_grad(x):
    """SELU_SCALE * elu_grad(x, SELU_ALPHA)."""
    ### BEGIN SOLUTION
    return SELU_SCALE * elu_grad(x, SELU_ALPHA)
    ### END SOLUTION
