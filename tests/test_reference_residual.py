"""The residual-block oracle agrees with a block built from torch's own layers and activations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference import residual as ref

BUILTIN = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def random_block(seed):
    rng = np.random.default_rng(seed)
    n, d, h = rng.integers(1, 6, size=3)
    shapes = [(n, d), (d, h), (h,), (h, d), (d,), (n, d)]
    return [rng.standard_normal(shape) * rng.choice([0.1, 1.0, 4.0]) for shape in shapes]


def builtin_block(x, W1, b1, W2, b2, activation):
    """F.linear takes weights as (fan_out, fan_in): the transposes of the contract's."""
    return x + F.linear(BUILTIN[activation](F.linear(x, W1.T, b1)), W2.T, b2)


@pytest.mark.parametrize("activation", ref.ACTIVATIONS)
@pytest.mark.parametrize("seed", range(10))
def test_forward_and_grads_match_builtin_layers(activation, seed):
    *inputs, dout = random_block(seed)
    tensors = [torch.tensor(v, requires_grad=True) for v in inputs]
    out = builtin_block(*tensors, activation)
    want_grads = torch.autograd.grad(out, tensors, torch.tensor(dout))
    np.testing.assert_allclose(ref.residual_forward(*inputs, activation), out.detach().numpy(), rtol=1e-12)
    for got, want in zip(ref.residual_grads(*inputs, dout, activation=activation), want_grads):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


def test_zero_branch_is_the_identity_with_an_identity_gradient():
    x, W1, b1, W2, b2, dout = random_block(0)
    zeros = np.zeros_like(W2), np.zeros_like(b2)
    np.testing.assert_array_equal(ref.residual_forward(x, W1, b1, *zeros), x)
    np.testing.assert_array_equal(ref.residual_grads(x, W1, b1, *zeros, dout)[0], dout)


@pytest.mark.parametrize("skip", [True, False])
def test_stack_gradient_matches_builtin_blocks(skip):
    x, blocks, dout = ref.deep_stack(depth=5)
    t = torch.tensor(x, requires_grad=True)
    out = t
    for params in blocks:
        branch = builtin_block(out, *(torch.tensor(v) for v in params), "sigmoid") - out
        out = out + branch if skip else branch
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(ref.stack_input_grad(x, blocks, dout, skip=skip), t.grad.numpy(), rtol=1e-10)


def test_deep_stack_shows_the_gradient_highway():
    """The premise of the graded 50-block test: with skips the gradient keeps its size,
    without them it vanishes."""
    x, blocks, dout = ref.deep_stack(depth=50)
    with_skip = np.linalg.norm(ref.stack_input_grad(x, blocks, dout)) / np.linalg.norm(dout)
    without = np.linalg.norm(ref.stack_input_grad(x, blocks, dout, skip=False)) / np.linalg.norm(dout)
    assert 0.5 < with_skip < 5
    assert without < 1e-20
