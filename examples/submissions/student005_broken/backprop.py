"""A correct submission: small classes as caches, einsum for the dense layer, sigmoid
through tanh, the gradient list built front to back while walking the layers backward."""
import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _sigmoid_grad(z):
    t = np.tanh(0.5 * z)
    return 0.25 * (1.0 - t * t)


def _tanh_grad(z):
    return 1.0 - np.tanh(z) ** 2


def _relu(z):
    return np.where(z > 0, z, 0.0)


def _relu_grad(z):
    return np.where(z > 0, 1.0, 0.0)


class Activation:
    def __init__(self, forward, derivative):
        self.forward = forward
        self.derivative = derivative


ACTIVATIONS = {
    "sigmoid": Activation(_sigmoid, _sigmoid_grad),
    "tanh": Activation(np.tanh, _tanh_grad),
    "relu": Activation(_relu, _relu_grad),
}


class DenseCache:
    def __init__(self, x, W):
        self.x = x
        self.W = W


class ActivationCache:
    def __init__(self, z, activation):
        self.z = z
        self.activation = activation


class LayerCache:
    def __init__(self, dense, activation):
        self.dense = dense
        self.activation = activation


def dense_forward(x, W, b):
    return np.einsum("ni,io->no", x, W) + b, DenseCache(x, W)


def dense_backward(dout, cache):
    dx = np.einsum("no,io->ni", dout, cache.W)
    dW = np.einsum("ni,no->io", cache.x, dout)
    db = np.einsum("no->o", dout)
    return dx, dW, db


def activation_forward(z, name):
    try:
        activation = ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None
    return activation.forward(z), ActivationCache(z, activation)


def activation_backward(da, cache):
    return da * cache.activation.derivative(cache.z)


def mse_loss(pred, target):
    diff = (pred - target).ravel()
    n = pred.shape[0]
    return float(np.dot(diff, diff)) / (2 * n), (pred - target) / n


def mlp_forward(x, params, activation="sigmoid"):
    caches = []
    for W, b in params:
        z, dense = dense_forward(x, W, b)
        x, act = activation_forward(z, activation)
        caches.append(LayerCache(dense, act))
    return x, caches


def mlp_backward(dout, caches):
    grads = []
    for layer in reversed(caches):
        dz = activation_backward(dout, layer.activation)
        dout, dW, db = dense_backward(dz, layer.dense)
        grads.insert(0, (dW, db))
    return grads


def sgd_step(params, grads, lr):
    return [tuple(p - lr * g for p, g in zip(layer, layer_grads))
            for layer, layer_grads in zip(params, grads)]
