"""Oracle for 05 skip connections: a residual block in torch, its backward pass by autograd.

Shapes: x (N, D), W1 (D, H), b1 (H,), W2 (H, D), b2 (D,).
"""
import numpy as np

from reference._autograd import numpy, tensor, vjp
from reference.activations import TORCH_ACTIVATIONS

ACTIVATIONS = ("relu", "sigmoid", "tanh")


def residual_t(x, W1, b1, W2, b2, activation="relu"):
    return x + TORCH_ACTIVATIONS[activation](x @ W1 + b1) @ W2 + b2


def branch_t(x, W1, b1, W2, b2, activation="relu"):
    """The same block without its skip term: what a plain (non-residual) network stacks."""
    return TORCH_ACTIVATIONS[activation](x @ W1 + b1) @ W2 + b2


def residual_forward(x, W1, b1, W2, b2, activation="relu"):
    return numpy(residual_t(*(tensor(v) for v in (x, W1, b1, W2, b2)), activation))


def residual_grads(x, W1, b1, W2, b2, dout, activation="relu"):
    """(dx, dW1, db1, dW2, db2) given dout = dL/dout."""
    return tuple(vjp(lambda *t: residual_t(*t, activation), [x, W1, b1, W2, b2], dout))


def stack_input_grad(x, blocks, dout, activation="sigmoid", skip=True):
    """dL/dx through `blocks` (a list of (W1, b1, W2, b2)) applied in order, given dout at the
    last block's output; with skip=False every block loses its `x +` term."""
    block_t = residual_t if skip else branch_t
    t = tensor(x, grad=True)
    out = t
    for params in blocks:
        out = block_t(out, *(tensor(v) for v in params), activation)
    out.backward(tensor(dout))
    return numpy(t.grad)


def deep_stack(depth=50, n=4, d=8, seed=0):
    """(x, blocks, dout) for a stack of `depth` blocks of width d = H with LeCun-scaled weights
    N(0, 1/fan_in) and small biases: the stack the 50-block gradient test runs."""
    rng = np.random.default_rng(seed)
    blocks = [(rng.normal(0, d ** -0.5, (d, d)), rng.normal(0, 0.1, d),
               rng.normal(0, d ** -0.5, (d, d)), rng.normal(0, 0.1, d)) for _ in range(depth)]
    return rng.standard_normal((n, d)), blocks, rng.standard_normal((n, d))
