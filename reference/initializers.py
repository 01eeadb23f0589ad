"""Oracle for 03 initializers: our contract's fans, gains, bounds and standard deviations,
samplers in torch, and the deep-network experiment of the handout.

Our kernels are laid out `(k1, ..., in, out)` (a dense weight is `(fan_in, fan_out)`);
torch.nn.init reads the fans of `(out, in, k1, ...)`. The formulas here follow our layout;
the oracle's own tests translate to torch's layout to compare with torch.nn.init.
"""
import math

import torch

from reference._autograd import numpy, tensor

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def fan_in_and_fan_out(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"fans need at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def calculate_gain(nonlinearity, param=None):
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


def uniform_bound(name, shape, gain=1.0):
    """The `a` of U(-a, a) for xavier_uniform, he_uniform, lecun_uniform."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return {"xavier_uniform": gain * math.sqrt(6.0 / (fan_in + fan_out)),
            "he_uniform": math.sqrt(6.0 / fan_in),
            "lecun_uniform": math.sqrt(3.0 / fan_in)}[name]


def normal_std(name, shape, gain=1.0):
    """The `s` of N(0, s²) for xavier_normal, he_normal, lecun_normal."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return {"xavier_normal": gain * math.sqrt(2.0 / (fan_in + fan_out)),
            "he_normal": math.sqrt(2.0 / fan_in),
            "lecun_normal": math.sqrt(1.0 / fan_in)}[name]


def _generator(seed):
    return torch.Generator().manual_seed(int(seed))


def zeros(shape):
    return numpy(torch.zeros(tuple(shape), dtype=torch.float64))


def uniform(shape, low, high, seed=0):
    t = torch.empty(tuple(shape), dtype=torch.float64)
    return numpy(t.uniform_(low, high, generator=_generator(seed)))


def _uniform(name):
    def sample(shape, gain=1.0, seed=0):
        a = uniform_bound(name, shape, gain)
        return uniform(shape, -a, a, seed)
    return sample


def _normal(name):
    def sample(shape, gain=1.0, seed=0):
        t = torch.empty(tuple(shape), dtype=torch.float64)
        return numpy(t.normal_(0.0, normal_std(name, shape, gain), generator=_generator(seed)))
    return sample


xavier_uniform, he_uniform, lecun_uniform = map(_uniform, ["xavier_uniform", "he_uniform", "lecun_uniform"])
xavier_normal, he_normal, lecun_normal = map(_normal, ["xavier_normal", "he_normal", "lecun_normal"])


ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "selu": lambda z: SELU_SCALE * torch.where(z > 0, z, SELU_ALPHA * torch.expm1(torch.clamp(z, max=0))),
    "linear": lambda z: z,
}


def activation_stds(x, weights, activation):
    """The standard deviation (over all entries) of every layer's output of the network
    `h <- act(h @ W)` started at `h = x`, one float per weight matrix, first layer first."""
    act, h, stds = ACTIVATIONS[activation], tensor(x), []
    for W in weights:
        h = act(h @ tensor(W))
        stds.append(h.std(unbiased=False).item())
    return stds
