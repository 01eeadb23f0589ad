"""Oracle for 02 backprop: forward passes in torch, every backward pass by autograd.

Shapes: x (N, fan_in), W (fan_in, fan_out), b (fan_out,); params is a list of (W, b).
"""
import torch

from reference._autograd import numpy, tensor, vjp
from reference.activations import TORCH_ACTIVATIONS


def dense_t(x, W, b):
    return x @ W + b


def dense_forward(x, W, b):
    return numpy(dense_t(tensor(x), tensor(W), tensor(b)))


def dense_grads(x, W, b, dout):
    """(dx, dW, db) of out = x @ W + b, given dout = dL/dout."""
    return tuple(vjp(dense_t, [x, W, b], dout))


def activation_forward(z, name):
    return numpy(TORCH_ACTIVATIONS[name](tensor(z)))


def activation_grad(z, name, da):
    """dz given da = dL/da for a = act(z)."""
    return vjp(TORCH_ACTIVATIONS[name], [z], da)[0]


def mse_t(pred, target):
    return 0.5 * torch.sum((pred - target) ** 2) / pred.shape[0]


def mse_loss(pred, target):
    """(loss, dpred) of 0.5 * sum((pred - target)**2) / N."""
    p = tensor(pred, grad=True)
    loss = mse_t(p, tensor(target))
    loss.backward()
    return loss.item(), numpy(p.grad)


def mlp_t(x, flat_params, activation):
    act = TORCH_ACTIVATIONS[activation]
    for W, b in zip(flat_params[::2], flat_params[1::2]):
        x = act(dense_t(x, W, b))
    return x


def mlp_forward(x, params, activation="sigmoid"):
    flat = [tensor(v) for layer in params for v in layer]
    return numpy(mlp_t(tensor(x), flat, activation))


def mlp_grads(x, params, dout, activation="sigmoid"):
    """[(dW, db), ...] for every layer, given dout = dL/d(network output)."""
    flat = [v for layer in params for v in layer]
    grads = vjp(lambda x_t, *p: mlp_t(x_t, list(p), activation), [x, *flat], dout)[1:]
    return list(zip(grads[::2], grads[1::2]))


def sgd_step(params, grads, lr):
    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
