"""Oracle for 07 diagnostics, and the training runs whose gradients the tests diagnose.

`layer_grad_norms`, `diagnose` and `dead_relu_fraction` follow the contract in torch.
`training_gradients` trains small reference networks in torch (float64, fixed seeds) and
records, at every step, the gradient of every weight matrix, first layer first.
"""
import math

import torch

from reference._autograd import numpy, tensor


def layer_grad_norms(grads):
    return numpy(torch.stack([torch.linalg.vector_norm(tensor(g)) for g in grads])
                 if len(grads) else torch.zeros(0, dtype=torch.float64))


def diagnose(layer_norms, vanish_ratio=1e-3, explode_threshold=1e3):
    norms = tensor(layer_norms)
    if not torch.isfinite(norms).all() or (norms > explode_threshold).any():
        return "exploding"
    first, last = norms[0].item(), norms[-1].item()
    if last == 0 or first / last < vanish_ratio:
        return "vanishing"
    return "healthy"


def dead_relu_fraction(preactivations):
    dead = (tensor(preactivations) <= 0).all(dim=0)
    return dead.double().mean().item()


def _mlp(x, weights, biases, activation):
    """Every layer but the last is followed by `activation`; the output layer is linear."""
    for i, (W, b) in enumerate(zip(weights, biases)):
        x = x @ W + b
        if i < len(weights) - 1:
            x = activation(x)
    return x


# name -> (activation, depth, width, weight initializer (fan_in, fan_out, generator) -> W, lr)
NETWORKS = {
    # Sigmoid layers with Xavier-scaled weights: every layer multiplies the gradient by
    # W.T diag(sigmoid') with sigmoid' <= 0.25, so the first layers receive almost nothing.
    "sigmoid_20": (torch.sigmoid, 20, 16,
                   lambda i, o, g: torch.randn(i, o, generator=g, dtype=torch.float64) / math.sqrt(i),
                   0.5),
    # The course notes' example: every weight 1.5 * I and no nonlinearity, so the output is
    # 1.5**(L-1) * x and every weight gradient grows like 1.5**(2L). The first update wrecks
    # the weights: the next step's gradients overflow to inf, the one after holds NaN.
    "identity_1.5": (lambda z: z, 20, 8,
                     lambda i, o, g: 1.5 * torch.eye(i, o, dtype=torch.float64),
                     0.01),
    # He initialization N(0, 2 / fan_in) keeps a ReLU network's signal and gradient at one scale.
    "he_relu": (torch.relu, 10, 64,
                lambda i, o, g: torch.randn(i, o, generator=g, dtype=torch.float64) * math.sqrt(2 / i),
                0.01),
}


def training_gradients(name, steps=3, seed=0):
    """Train network `name` by full-batch SGD on fixed random regression data; return, per
    step, the list of its weight gradients (numpy), first layer first."""
    activation, depth, width, init, lr = NETWORKS[name]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(32, width, generator=gen, dtype=torch.float64)
    y = torch.randn(32, width, generator=gen, dtype=torch.float64)
    weights = [init(width, width, gen) for _ in range(depth)]
    biases = [torch.zeros(width, dtype=torch.float64) for _ in range(depth)]
    recorded = []
    for _ in range(steps):
        params = [p.detach().requires_grad_() for p in weights + biases]
        loss = 0.5 * torch.mean((_mlp(x, params[:depth], params[depth:], activation) - y) ** 2)
        loss.backward()
        recorded.append([numpy(W.grad) for W in params[:depth]])
        new = [p.detach() - lr * p.grad for p in params]
        weights, biases = new[:depth], new[depth:]
    return recorded


def relu_preactivations(bias, steps=5, n=64, fan_in=32, units=32, lr=0.1, seed=0):
    """Train a He-initialized network x -> relu(x @ W1 + b1) @ W2 whose hidden biases all start
    at `bias`, by full-batch SGD on N(0, 1) regression data; return the hidden layer's
    pre-activations x @ W1 + b1 after training, (n, units). A unit negative on every input
    gets no gradient, so it stays dead."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, fan_in, generator=gen, dtype=torch.float64)
    y = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    W1 = torch.randn(fan_in, units, generator=gen, dtype=torch.float64) * math.sqrt(2 / fan_in)
    b1 = torch.full((units,), float(bias), dtype=torch.float64)
    W2 = torch.randn(units, 1, generator=gen, dtype=torch.float64) * math.sqrt(2 / units)
    for _ in range(steps):
        params = [p.detach().requires_grad_() for p in (W1, b1, W2)]
        loss = 0.5 * torch.mean((torch.relu(x @ params[0] + params[1]) @ params[2] - y) ** 2)
        loss.backward()
        W1, b1, W2 = (p.detach() - lr * p.grad for p in params)
    return numpy(x @ W1 + b1)
