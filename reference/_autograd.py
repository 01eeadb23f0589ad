"""numpy <-> torch at the oracle's boundary, and derivatives by autograd."""
import numpy as np
import torch


def tensor(x, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def elementwise_grad(f, x) -> np.ndarray:
    """d f(x)_i / d x_i for an elementwise f, by autograd."""
    t = tensor(x, grad=True)
    f(t).sum().backward()
    return numpy(t.grad)


def vjp(f, inputs, dout) -> list[np.ndarray]:
    """The gradients of sum(f(*inputs) * dout) with respect to every input: a backward pass."""
    tensors = [tensor(v, grad=True) for v in inputs]
    f(*tensors).backward(tensor(dout))
    return [numpy(t.grad) for t in tensors]
