"""Oracle for 04 batch normalization: the formulas in torch, the backward pass by autograd,
and torch.nn.BatchNorm1d run over a sequence of batches.

Shapes: x (N, D) with N >= 2; gamma, beta, running_mean, running_var (D,).
"""
import torch

from reference._autograd import numpy, tensor, vjp


def batchnorm_t(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=0)
    var = ((x - mean) ** 2).mean(dim=0)  # biased: divided by N
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    return numpy(batchnorm_t(tensor(x), tensor(gamma), tensor(beta), eps))


def batchnorm_grads(x, gamma, beta, dout, eps=1e-5):
    """(dx, dgamma, dbeta) of the training-mode forward pass, given dout = dL/dout."""
    return tuple(vjp(lambda *t: batchnorm_t(*t, eps), [x, gamma, beta], dout))


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    x = tensor(x)
    n = x.shape[0]
    mean = x.mean(dim=0)
    unbiased_var = ((x - mean) ** 2).sum(dim=0) / (n - 1)
    new_mean = (1 - momentum) * tensor(running_mean) + momentum * mean
    new_var = (1 - momentum) * tensor(running_var) + momentum * unbiased_var
    return numpy(new_mean), numpy(new_var)


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    x, mean, var = tensor(x), tensor(running_mean), tensor(running_var)
    return numpy(tensor(gamma) * (x - mean) / torch.sqrt(var + eps) + tensor(beta))


def batchnorm1d_run(batches, test_batch, gamma, beta, momentum=0.1, eps=1e-5):
    """torch.nn.BatchNorm1d trained on `batches` in turn, then evaluated on `test_batch`.

    Returns ([(out, running_mean, running_var) after each training batch], eval_out);
    the running statistics start at PyTorch's (zeros, ones).
    """
    layer = torch.nn.BatchNorm1d(len(gamma), eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(tensor(gamma))
        layer.bias.copy_(tensor(beta))
        layer.train()
        steps = [(numpy(layer(tensor(x))), numpy(layer.running_mean), numpy(layer.running_var))
                 for x in batches]
        layer.eval()
        return steps, numpy(layer(tensor(test_batch)))
