"""Oracle for 01 activations: the formulas in torch, their derivatives by autograd.

The formulas are written out (not torch.sigmoid & co.) so that the oracle's own tests,
which compare them with torch's built-ins, can fail.
"""
import torch

from reference._autograd import elementwise_grad, numpy, tensor

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def sigmoid_t(x):
    # Each branch sees only its own half-line, so neither exp overflows and autograd stays
    # finite (exp(-|x|) would be finite too, but |x| has derivative 0 at 0).
    e_pos = torch.exp(-torch.clamp(x, min=0))
    e_neg = torch.exp(torch.clamp(x, max=0))
    return torch.where(x >= 0, 1 / (1 + e_pos), e_neg / (1 + e_neg))


def tanh_t(x):
    return 2 * sigmoid_t(2 * x) - 1


def relu_t(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_relu_t(x, alpha=0.01):
    return torch.where(x > 0, x, alpha * x)


def elu_t(x, alpha=1.0):
    # expm1 of min(x, 0): the branch not taken must not overflow, or its gradient is NaN.
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def selu_t(x):
    return SELU_SCALE * elu_t(x, SELU_ALPHA)


TORCH_ACTIVATIONS = {"sigmoid": sigmoid_t, "tanh": tanh_t, "relu": relu_t,
                     "leaky_relu": leaky_relu_t, "elu": elu_t, "selu": selu_t}


def _value(f):
    return lambda x, *args: numpy(f(tensor(x), *args))


def _derivative(f):
    return lambda x, *args: elementwise_grad(lambda t: f(t, *args), x)


sigmoid, sigmoid_grad = _value(sigmoid_t), _derivative(sigmoid_t)
tanh, tanh_grad = _value(tanh_t), _derivative(tanh_t)
relu, relu_grad = _value(relu_t), _derivative(relu_t)
leaky_relu, leaky_relu_grad = _value(leaky_relu_t), _derivative(leaky_relu_t)
elu, elu_grad = _value(elu_t), _derivative(elu_t)
selu, selu_grad = _value(selu_t), _derivative(selu_t)
