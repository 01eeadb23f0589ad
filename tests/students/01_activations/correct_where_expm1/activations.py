"""A correct submission, vectorised with other equivalent formulas: sigmoid through
logaddexp, tanh from exp(-2|x|), derivatives written from the outputs, relu_grad as a
boolean mask (numeric, so accepted)."""
import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def sigmoid(x):
    # log(1 + exp(-x)) = logaddexp(0, -x) is computed without overflow; exp of its negative
    # is at most 1 and may only underflow to 0, which numpy does silently.
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s - s * s


def tanh(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-2.0 * np.abs(x))
    return np.sign(x) * -np.expm1(-2.0 * np.abs(x)) / (1.0 + e)


def tanh_grad(x):
    t = tanh(x)
    return (1.0 - t) * (1.0 + t)


def relu(x):
    x = np.asarray(x, dtype=np.float64)
    return x * (x > 0)


def relu_grad(x):
    return np.asarray(x) > 0


def leaky_relu(x, alpha=0.01):
    x = np.asarray(x, dtype=np.float64)
    return np.maximum(x, 0.0) + alpha * np.minimum(x, 0.0)


def leaky_relu_grad(x, alpha=0.01):
    positive = np.asarray(x) > 0
    return positive + alpha * ~positive


def elu(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    negative = np.minimum(x, 0.0)
    return np.maximum(x, 0.0) + alpha * np.expm1(negative)


def elu_grad(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def selu(x):
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_grad(x):
    return SELU_SCALE * elu_grad(x, SELU_ALPHA)
