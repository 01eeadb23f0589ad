"""Initializers from one variance: a normal is std * standard_normal, a uniform has
bound sqrt(3) * std; the fans come from numpy."""
import numpy as np


def fan_in_and_fan_out(shape):
    shape = np.asarray(shape, dtype=np.int64)
    if shape.ndim != 1 or shape.size < 2:
        raise ValueError(f"a weight has at least 2 dimensions, got {tuple(shape)}")
    r = int(np.prod(shape[:-2]))
    return int(shape[-2]) * r, int(shape[-1]) * r


def calculate_gain(nonlinearity, param=None):
    table = {
        "linear": lambda: 1.0,
        "sigmoid": lambda: 1.0,
        "tanh": lambda: 5 / 3,
        "relu": lambda: np.sqrt(2.0),
        "leaky_relu": lambda: np.sqrt(2.0 / (1 + (0.01 if param is None else param) ** 2)),
        "selu": lambda: 3 / 4,
    }
    try:
        return float(table[nonlinearity]())
    except KeyError:
        raise ValueError(f"no gain for {nonlinearity!r}") from None


def zeros(shape):
    return np.zeros(tuple(shape))


def uniform(shape, low, high, seed=0):
    u = np.random.default_rng(seed).uniform(size=shape)
    return (1.0 - u) * low + u * high


def _variance(kind, shape, gain=1.0):
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return {"xavier": gain ** 2 * 2.0 / (fan_in + fan_out), "he": 2.0 / fan_in, "lecun": 1.0 / fan_in}[kind]


def _normal(kind, shape, seed, gain=1.0):
    return np.sqrt(_variance(kind, shape, gain)) * np.random.default_rng(seed).standard_normal(shape)


def _uniform(kind, shape, seed, gain=1.0):
    bound = np.sqrt(3.0 * _variance(kind, shape, gain))
    return np.random.default_rng(seed).uniform(-bound, bound, shape)


def xavier_uniform(shape, gain=1.0, seed=0):
    return _uniform("xavier", shape, seed, gain)


def xavier_normal(shape, gain=1.0, seed=0):
    return _normal("xavier", shape, seed, gain)


def he_uniform(shape, seed=0):
    return _uniform("he", shape, seed)


def he_normal(shape, seed=0):
    return _normal("he", shape, seed)


def lecun_uniform(shape, seed=0):
    return _uniform("lecun", shape, seed)


def lecun_normal(shape, seed=0):
    return _normal("lecun", shape, seed)
