# A correct residual block: einsum, a dict cache, and act' computed from the activation's output.
import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


FORWARD = {"relu": lambda z: z * (z > 0), "sigmoid": _sigmoid, "tanh": np.tanh}
# The derivative written in terms of a = act(z).
FROM_OUTPUT = {"relu": lambda a: (a > 0) * 1.0, "sigmoid": lambda a: a - a * a,
               "tanh": lambda a: 1.0 - a * a}


def residual_forward(x, W1, b1, W2, b2, activation="relu"):
    a = FORWARD[activation](np.einsum("nd,dh->nh", x, W1) + b1)
    branch = np.einsum("nh,hd->nd", a, W2) + b2
    return branch + x, {"x": x, "W1": W1, "W2": W2, "a": a, "name": activation}


def residual_backward(dout, cache):
    dW2 = np.einsum("nh,nd->hd", cache["a"], dout)
    db2 = np.einsum("nd->d", dout)
    dz = np.einsum("nd,hd->nh", dout, cache["W2"]) * FROM_OUTPUT[cache["name"]](cache["a"])
    dW1 = np.einsum("nd,nh->dh", cache["x"], dz)
    db1 = np.einsum("nh->h", dz)
    dx = np.einsum("nh,dh->nd", dz, cache["W1"]) + dout
    return dx, dW1, db1, dW2, db2
