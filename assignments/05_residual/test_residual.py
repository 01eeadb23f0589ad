"""Public tests for 05 skip connections: a residual block against the PyTorch oracle, and the
gradient highway that lets a deep stack of sigmoid blocks still learn."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.grading.checks import (as_array, assert_at_least, assert_at_most, assert_close,
                                       assert_unchanged)
from autograder.grading.testing import graded, student_module
from reference import residual as ref

residual = student_module("residual")

ACTIVATIONS = list(ref.ACTIVATIONS)
GRAD_NAMES = ("dx", "dW1", "db1", "dW2", "db2")


@st.composite
def blocks(draw):
    """(x, W1, b1, W2, b2, dout) of random shapes and scales.

    Drawn from a seeded normal distribution rather than element by element: a
    pre-activation that is exactly 0 (where relu has no derivative) then has probability 0.
    """
    n, d, h = (draw(st.integers(1, 5), label=name) for name in "NDH")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    scale = draw(st.sampled_from([0.1, 1.0, 4.0]), label="scale")
    rng = np.random.default_rng(seed)
    shapes = [(n, d), (d, h), (h,), (h, d), (d,), (n, d)]
    return tuple(scale * rng.standard_normal(shape) for shape in shapes)


def copies(arrays):
    """What the student's functions are handed: copies, so that writing into an input loses
    points only on the tests that check for it."""
    return [a.copy() for a in arrays]


def backward(module, block, activation):
    x, W1, b1, W2, b2, dout = copies(block)
    _, cache = module.residual_forward(x, W1, b1, W2, b2, activation)
    got = module.residual_backward(dout, cache)
    assert isinstance(got, (tuple, list)) and len(got) == 5, \
        f"residual_backward returned {type(got).__name__}, expected a tuple (dx, dW1, db1, dW2, db2)"
    return got, ref.residual_grads(*block, activation=activation)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("residual_forward", points=2, hint="out = x + act(x @ W1 + b1) @ W2 + b2: the skip term "
        "adds x itself, after the second dense layer and its bias")
@given(block=blocks())
def test_forward_equals_reference(residual, activation, block):
    """residual_forward(..., "{activation}") equals the PyTorch reference on random shapes"""
    got, _ = residual.residual_forward(*copies(block[:5]), activation)
    assert_close(got, ref.residual_forward(*block[:5], activation), f"residual_forward(..., {activation!r})")


@graded("residual_forward", points=1, hint="check the default of activation: the contract's is "
        "activation=\"relu\"")
@given(block=blocks())
def test_forward_default_is_relu(residual, block):
    """residual_forward without an activation argument uses relu"""
    got, _ = residual.residual_forward(*copies(block[:5]))
    assert_close(got, ref.residual_forward(*block[:5], "relu"), "residual_forward(x, W1, b1, W2, b2)")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("residual_backward", points=2, hint="dx has two paths: the branch's dz @ W1.T and the "
        "skip term, whose local derivative is the identity: did you forget `+ dout`?")
@given(block=blocks())
def test_dx_equals_autograd(residual, activation, block):
    """residual_backward's dx equals autograd's for {activation} on random shapes"""
    got, want = backward(residual, block, activation)
    assert_close(got[0], want[0], f"dx of residual_backward ({activation})")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("residual_backward", points=2, hint="dz = (dout @ W2.T) * act'(z) with z = x @ W1 + b1 "
        "(the derivative at z, not at act(z)); bias gradients sum over the batch")
@given(block=blocks())
def test_parameter_grads_equal_autograd(residual, activation, block):
    """residual_backward's dW1, db1, dW2, db2 equal autograd's for {activation}"""
    got, want = backward(residual, block, activation)
    for name, g, w in zip(GRAD_NAMES[1:], got[1:], want[1:]):
        assert_close(g, w, f"{name} of residual_backward ({activation})")


def zero_branch(block):
    x, W1, b1, W2, b2, dout = block
    return x, W1, b1, np.zeros_like(W2), np.zeros_like(b2), dout


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("residual_forward", points=1, hint="with W2 = 0 and b2 = 0 the branch adds nothing: "
        "out must be x itself, so the skip term is missing or added twice", counts_with="residual_forward")
@given(block=blocks())
def test_zero_branch_is_identity(residual, activation, block):
    """with W2 = 0 and b2 = 0 the {activation} block is the identity: out == x"""
    x = block[0]
    got, _ = residual.residual_forward(*copies(zero_branch(block)[:5]), activation)
    assert_close(got, x, f"residual_forward(x, W1, b1, 0, 0, {activation!r})")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("residual_backward", points=2, hint="this is the gradient highway: with W2 = 0 the branch "
        "passes nothing back, and the skip term must hand dout to dx unchanged (`dx = dout + ...`)",
        counts_with="residual_backward")
@given(block=blocks())
def test_zero_branch_passes_gradient_unchanged(residual, activation, block):
    """with W2 = 0 and b2 = 0 the {activation} block passes the gradient through: dx == dout"""
    dout = block[5]
    (dx, *_), _ = backward(residual, zero_branch(block), activation)
    assert_close(dx, dout, f"dx of residual_backward with W2 = 0 ({activation})")


@graded("residual_backward", points=4, hint="a stack of residual blocks keeps its gradient only "
        "if every block adds dout to dx (`dx = dout + dz @ W1.T`); without that term each sigmoid "
        "layer multiplies it by at most 0.25", counts_with="residual_backward")
def test_deep_sigmoid_stack_keeps_gradient(residual):
    """through 50 sigmoid residual blocks the input gradient keeps the output gradient's size"""
    x, stack, dout = ref.deep_stack(depth=50)
    caches = []
    out = x.copy()
    for params in stack:
        out, cache = residual.residual_forward(out, *copies(params), "sigmoid")
        caches.append(cache)
    grad = dout.copy()
    for cache in reversed(caches):
        grad = residual.residual_backward(grad, cache)[0]
    grad = as_array(grad, "dx of the 50-block stack", x.shape)

    # The same stack without the skip terms: each block multiplies the gradient by
    # W2.T diag(sigmoid') W1.T, sigmoid' <= 0.25, and after 50 blocks almost nothing is left.
    plain = ref.stack_input_grad(x, stack, dout, "sigmoid", skip=False)
    plain_ratio = np.linalg.norm(plain) / np.linalg.norm(dout)
    assert_at_most(plain_ratio, 1e-10, "||dx|| / ||dout|| of the test's own plain stack (it must vanish)")
    ratio = np.linalg.norm(grad) / np.linalg.norm(dout)
    what = (f"||dx|| / ||dout|| through 50 sigmoid residual blocks (expected between 0.1 and 10; "
            f"without skip terms it is {plain_ratio:.3g})")
    assert_at_least(ratio, 0.1, what)
    assert_at_most(ratio, 10, what)
    assert_close(grad, ref.stack_input_grad(x, stack, dout, "sigmoid"), "dx of the 50-block stack")


@graded("residual_forward", points=1, hint="build out as a new array (`out = x + ...`), never "
        "`out = x; out += ...`, which writes into x", counts_with="residual_forward")
@given(block=blocks(), activation=st.sampled_from(ACTIVATIONS))
def test_forward_leaves_inputs_untouched(residual, block, activation):
    """residual_forward leaves x, W1, b1, W2 and b2 untouched"""
    before = copies(block)
    out, _ = residual.residual_forward(*block[:5], activation)
    as_array(out, "residual_forward(x, W1, b1, W2, b2)", before[0].shape)
    for name, b, v in zip(("x", "W1", "b1", "W2", "b2"), before, block):
        assert_unchanged(b, v, f"residual_forward ({name})")


@graded("residual_backward", points=1, hint="compute gradients into new arrays: `dx = dout + ...`, "
        "never `dx = dout; dx += ...`, which writes into dout", counts_with="residual_backward")
@given(block=blocks(), activation=st.sampled_from(ACTIVATIONS))
def test_backward_leaves_inputs_untouched(residual, block, activation):
    """residual_backward leaves dout and the arrays of the forward pass untouched"""
    before = copies(block)
    x, W1, b1, W2, b2, dout = block
    _, cache = residual.residual_forward(x, W1, b1, W2, b2, activation)
    dx, *_ = residual.residual_backward(dout, cache)
    as_array(dx, "dx of residual_backward", x.shape)
    for name, b, v in zip(("x", "W1", "b1", "W2", "b2", "dout"), before, block):
        assert_unchanged(b, v, f"residual_backward ({name})")
