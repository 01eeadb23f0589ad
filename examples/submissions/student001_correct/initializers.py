"""Initializers written with loops and explicit lookups: a student's long-hand version."""
import numpy as np

GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": 2.0 ** 0.5, "selu": 0.75}


def fan_in_and_fan_out(shape):
    if len(shape) < 2:
        raise ValueError("need at least two dimensions")
    receptive = 1
    for k in shape[:len(shape) - 2]:
        receptive *= k
    fan_in = shape[len(shape) - 2] * receptive
    fan_out = shape[len(shape) - 1] * receptive
    return int(fan_in), int(fan_out)


def calculate_gain(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        if param is None:
            param = 0.01
        return (2.0 / (1.0 + param * param)) ** 0.5
    if nonlinearity not in GAINS:
        raise ValueError("unsupported nonlinearity: " + str(nonlinearity))
    return GAINS[nonlinearity]


def zeros(shape):
    out = np.empty(shape)
    out.fill(0.0)
    return out


def uniform(shape, low, high, seed=0):
    rng = np.random.default_rng(seed)
    return low + (high - low) * rng.random(shape)


def _symmetric_uniform(shape, bound, seed):
    return uniform(shape, -bound, bound, seed)


def xavier_uniform(shape, gain=1.0, seed=0):
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return _symmetric_uniform(shape, gain * (6.0 / (fan_in + fan_out)) ** 0.5, seed)


def xavier_normal(shape, gain=1.0, seed=0):
    fan_in, fan_out = fan_in_and_fan_out(shape)
    rng = np.random.default_rng(seed)
    return rng.normal(loc=0.0, scale=gain * (2.0 / (fan_in + fan_out)) ** 0.5, size=shape)


def he_uniform(shape, seed=0):
    return _symmetric_uniform(shape, (6.0 / fan_in_and_fan_out(shape)[0]) ** 0.5, seed)


def he_normal(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, (2.0 / fan_in_and_fan_out(shape)[0]) ** 0.5, shape)


def lecun_uniform(shape, seed=0):
    return _symmetric_uniform(shape, (3.0 / fan_in_and_fan_out(shape)[0]) ** 0.5, seed)


def lecun_normal(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, (1.0 / fan_in_and_fan_out(shape)[0]) ** 0.5, shape)
