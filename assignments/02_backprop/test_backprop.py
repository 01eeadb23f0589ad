"""Public tests for 02 backprop: every backward pass against autograd, and the worked example."""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.grading.checks import as_float, assert_at_most, assert_close, assert_unchanged
from autograder.grading.strategies import arrays
from autograder.grading.testing import graded, student_module
from reference import backprop as ref

backprop = student_module("backprop")

ACTIVATIONS = ["sigmoid", "tanh", "relu"]
sides = st.integers(1, 4)


@st.composite
def dense_cases(draw):
    """(x, W, b, dout) of consistent random shapes."""
    n, fan_in, fan_out = draw(sides), draw(sides), draw(sides)
    return (draw(arrays(3, (n, fan_in))), draw(arrays(3, (fan_in, fan_out))),
            draw(arrays(3, (fan_out,))), draw(arrays(3, (n, fan_out))))


@st.composite
def mlp_cases(draw):
    """(x, params, dout) for an MLP of random depth and widths."""
    widths = draw(st.lists(sides, min_size=2, max_size=5))
    n = draw(sides)
    params = [(draw(arrays(2, (a, b))), draw(arrays(2, (b,)))) for a, b in zip(widths, widths[1:])]
    return draw(arrays(2, (n, widths[0]))), params, draw(arrays(2, (n, widths[-1])))


@graded("dense_forward", points=2, hint="out = x @ W + b: x is (N, fan_in), W (fan_in, fan_out); "
        "b broadcasts over the batch")
@given(case=dense_cases())
def test_dense_forward_equals_reference(backprop, case):
    """dense_forward(x, W, b) returns x @ W + b"""
    x, W, b, _ = case
    want = ref.dense_forward(x, W, b)
    out, _ = backprop.dense_forward(x, W, b)
    assert_close(out, want, "dense_forward(x, W, b)")


@graded("dense_backward", points=3, hint="dx = dout @ W.T, dW = x.T @ dout (fan_in, fan_out), "
        "db = dout.sum(axis=0): each gradient has the shape of what it differentiates")
@given(case=dense_cases())
def test_dense_backward_equals_autograd(backprop, case):
    """dense_backward returns (dx, dW, db) equal to autograd's"""
    x, W, b, dout = case
    want = ref.dense_grads(x, W, b, dout)
    _, cache = backprop.dense_forward(x, W, b)
    got = backprop.dense_backward(dout, cache)
    for name, g, want in zip(("dx", "dW", "db"), got, want):
        assert_close(g, want, f"dense_backward's {name}")


@pytest.mark.parametrize("name", ACTIVATIONS)
@graded("activation_forward", points=1, hint="use the module's ACTIVATIONS helpers for '{name}'")
@given(z=arrays(bound=20, min_dims=1))
def test_activation_forward_equals_reference(backprop, name, z):
    """activation_forward(z, "{name}") applies {name} elementwise"""
    want = ref.activation_forward(z, name)
    a, _ = backprop.activation_forward(z, name)
    assert_close(a, want, f"activation_forward(z, {name!r})")


@st.composite
def same_shape_pairs(draw, bound):
    """Two arrays of one random shape (at least 1-d)."""
    first = draw(arrays(bound, min_dims=1, max_dims=2))
    return first, draw(arrays(bound, shape=first.shape))


@pytest.mark.parametrize("name", ACTIVATIONS)
@graded("activation_backward", points=1, hint="dz = da * act'(z): multiply by the derivative "
        "at the pre-activation z (keep z in the cache), elementwise, not a matrix product; "
        "for relu, dz is 0 where z == 0 (z > 0, not z >= 0)")
@given(pair=same_shape_pairs(bound=20))
# Exact zeros in z: ReLU's derivative there is pinned to PyTorch's 0 in this assignment.
@example(pair=(np.array([-1.5, 0.0, 0.0, 2.0]), np.array([1.0, 2.0, -3.0, 0.5])))
def test_activation_backward_equals_autograd(backprop, name, pair):
    """activation_backward for {name} equals autograd's dz"""
    z, da = pair
    want = ref.activation_grad(z, name, da)
    _, cache = backprop.activation_forward(z, name)
    assert_close(backprop.activation_backward(da, cache), want, f"activation_backward for {name!r}")


@graded("activation_forward", points=1, hint="check the name first and raise ValueError for "
        "anything that is not 'sigmoid', 'tanh' or 'relu'", counts_with="activation_forward")
def test_activation_forward_rejects_unknown_names(backprop):
    """activation_forward raises ValueError for an unknown activation name"""
    for name in ("softmax", "Sigmoid", ""):
        with pytest.raises(ValueError):
            backprop.activation_forward(np.zeros((2, 2)), name)


@graded("mse_loss", points=2, hint="loss = 0.5 * sum((pred - target)**2) / N with N = pred.shape[0] "
        "(not the number of elements); dpred = (pred - target) / N")
@given(pair=same_shape_pairs(bound=10))
def test_mse_loss_and_its_gradient(backprop, pair):
    """mse_loss returns the loss as a float and dpred equal to autograd's"""
    pred, target = pair
    want_loss, want_dpred = ref.mse_loss(pred, target)
    loss, dpred = backprop.mse_loss(pred, target)
    assert_close(as_float(loss, "mse_loss's loss"), want_loss, "mse_loss's loss")
    assert_close(dpred, want_dpred, "mse_loss's dpred")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("mlp_forward", points=1, hint="apply the activation after every layer, the last included, "
        "feeding each layer's output to the next")
@given(case=mlp_cases())
def test_mlp_forward_equals_reference(backprop, activation, case):
    """mlp_forward with {activation} equals the reference network's output"""
    x, params, _ = case
    want = ref.mlp_forward(x, params, activation)
    out, _ = backprop.mlp_forward(x, params, activation)
    assert_close(out, want, f"mlp_forward(..., {activation!r})")


@graded("mlp_forward", points=1, hint="check the default of activation: mlp_forward(x, params) "
        "without an activation must use 'sigmoid'")
@given(case=mlp_cases())
def test_mlp_forward_default_activation_is_sigmoid(backprop, case):
    """mlp_forward(x, params) called without an activation equals the reference sigmoid network"""
    x, params, _ = case
    # The default passed explicitly, so that the reference's own default cannot hide a difference.
    want = ref.mlp_forward(x, params, "sigmoid")
    out, _ = backprop.mlp_forward(x, params)
    assert_close(out, want, "mlp_forward(x, params)")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@graded("mlp_backward", points=2, hint="walk the caches in reverse: activation_backward, then "
        "dense_backward, passing dx on; return the (dW, db) pairs first layer first")
@given(case=mlp_cases())
def test_mlp_backward_equals_autograd(backprop, activation, case):
    """mlp_backward with {activation} equals autograd on random depths and widths"""
    x, params, dout = case
    want = ref.mlp_grads(x, params, dout, activation)
    _, caches = backprop.mlp_forward(x, params, activation)
    got = backprop.mlp_backward(dout, caches)
    assert len(got) == len(want), f"mlp_backward returned {len(got)} pairs for {len(want)} layers"
    for layer, ((dW, db), (want_dW, want_db)) in enumerate(zip(got, want), start=1):
        assert_close(dW, want_dW, f"mlp_backward's dW of layer {layer}")
        assert_close(db, want_db, f"mlp_backward's db of layer {layer}")


@graded("sgd_step", points=1, hint="step against the gradient: W - lr * dW, in a new list of new arrays")
@given(case=mlp_cases(), lr=st.floats(1e-3, 1.0))
def test_sgd_step_moves_against_the_gradient(backprop, case, lr):
    """sgd_step returns [(W - lr*dW, b - lr*db), ...] and leaves params and grads untouched"""
    x, params, dout = case
    grads = ref.mlp_grads(x, params, dout)
    before = [(W.copy(), b.copy()) for W, b in params]
    want = ref.sgd_step(params, grads, lr)
    got = backprop.sgd_step(params, grads, lr)
    assert len(got) == len(params), f"sgd_step returned {len(got)} layers for {len(params)}"
    for (W, b), (want_W, want_b) in zip(got, want):
        assert_close(W, want_W, "sgd_step's W")
        assert_close(b, want_b, "sgd_step's b")
    for (W, b), (W0, b0) in zip(params, before):
        assert_unchanged(W0, W, "sgd_step")
        assert_unchanged(b0, b, "sgd_step")


@graded("mlp_backward", points=1, hint="compute new arrays (dout @ W.T, dz = da * ...) "
        "instead of writing into dout or the cached arrays", counts_with="mlp_backward")
@given(case=mlp_cases())
def test_backward_pass_leaves_inputs_untouched(backprop, case):
    """mlp_forward and mlp_backward leave x, params and dout untouched"""
    x, params, dout = case
    copies = [a.copy() for a in (x, dout, *[v for layer in params for v in layer])]
    _, caches = backprop.mlp_forward(x, params, "sigmoid")
    grads = backprop.mlp_backward(dout, caches)
    assert len(grads) == len(params), f"mlp_backward returned {len(grads)} pairs for {len(params)} layers"
    for before, after in zip(copies, (x, dout, *[v for layer in params for v in layer])):
        assert_unchanged(before, after, "mlp_forward / mlp_backward")


# The handout's worked example (course notes): x0 = 1, three one-neuron sigmoid layers, all
# weights 0.5, no bias, target 0.8, learning rate 0.1. Numbers as the handout prints them, which
# may be truncated rather than rounded (0.57165 is printed 0.5716): within 1e-4 is agreement.
WORKED_OUTPUTS = [0.6225, 0.5772, 0.5716]
WORKED_LOSS = 0.0261
WORKED_DW = [-0.0008, -0.0042, -0.0323]
WORKED_NEW_W = [0.5001, 0.5004, 0.5032]
WORKED_LR = 0.1


def worked_params(depth):
    return [(np.array([[0.5]]), np.zeros(1)) for _ in range(depth)]


@graded("mlp_forward, mse_loss, mlp_backward, sgd_step", points=3,
        hint="reproduce the handout's table by hand first: the message says which number "
        "differs; each layer multiplies the gradient by sigma'(z) * w", counts_with="mlp_backward")
def test_worked_example_to_four_decimals(backprop):
    """the handout's worked example is reproduced to 4 decimals: outputs, loss, dW, updated W"""
    for depth, want in enumerate(WORKED_OUTPUTS, start=1):
        out, _ = backprop.mlp_forward(np.array([[1.0]]), worked_params(depth))
        assert_close(out, [[want]], f"layer {depth}'s output", rtol=0, atol=1e-4)
    out, caches = backprop.mlp_forward(np.array([[1.0]]), worked_params(3))
    loss, dpred = backprop.mse_loss(out, np.array([[0.8]]))
    assert_close(as_float(loss, "mse_loss"), WORKED_LOSS, "the loss", rtol=0, atol=1e-4)
    grads = backprop.mlp_backward(dpred, caches)
    for layer, ((dW, _), want) in enumerate(zip(grads, WORKED_DW), start=1):
        assert_close(dW, [[want]], f"dL/dW{layer}", rtol=0, atol=1e-4)
    new = backprop.sgd_step(worked_params(3), grads, WORKED_LR)
    for layer, ((W, _), want) in enumerate(zip(new, WORKED_NEW_W), start=1):
        assert_close(W, [[want]], f"W{layer} after one step", rtol=0, atol=1e-4)


DEPTHS = [2, 5, 10, 20]
WIDTH = 8


def deep_sigmoid_network(depth):
    """The weights of a sigmoid MLP of `depth` layers and its one input, from fixed seeds:
    the same network for every student."""
    rng = np.random.default_rng(depth)
    params = [(rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH), np.zeros(WIDTH))
              for _ in range(depth)]
    return params, np.random.default_rng(0).standard_normal((1, WIDTH))


def deep_sigmoid_gradients(backprop, depth):
    """The student's (dW, db) for deep_sigmoid_network(depth)."""
    params, x = deep_sigmoid_network(depth)
    _, caches = backprop.mlp_forward(x, params, "sigmoid")
    return backprop.mlp_backward(np.ones((1, WIDTH)), caches)


@graded("mlp_backward", points=2, hint="a correct backward pass multiplies by sigmoid'(z) <= 0.25 "
        "at every layer; if your first layer's gradient does not shrink, a factor is missing",
        counts_with="mlp_backward")
def test_deep_sigmoid_gradients_decay(backprop):
    """in a deep sigmoid MLP the first layer's gradient is at most the last's, shrinks as
    depth grows, and stays under the 0.25-per-layer bound"""
    first_norms = []
    for depth in DEPTHS:
        grads = deep_sigmoid_gradients(backprop, depth)
        params, x = deep_sigmoid_network(depth)
        first, last = np.linalg.norm(grads[0][0]), np.linalg.norm(grads[-1][0])
        assert_at_most(first, last, f"depth {depth}: |dW1|, which must not exceed |dW{depth}|,")
        # With one example, dW1 = x.T @ delta1 and db_L = delta_L, and every layer l >= 2
        # shrinks delta by at most 0.25 * ||W_l||_2 (the spectral norm): a rigorous bound.
        factors = [0.25 * np.linalg.norm(W, 2) for W, _ in params[1:]]
        bound = np.linalg.norm(x) * np.linalg.norm(grads[-1][1]) * np.prod(factors)
        assert_at_most(first, bound, f"depth {depth}: |dW1|, which must respect the 0.25-per-layer bound,")
        if first_norms:
            shallower = DEPTHS[len(first_norms) - 1]
            assert_at_most(first, first_norms[-1], f"|dW1| at depth {depth}, which must not "
                           f"exceed |dW1| at depth {shallower},")
        first_norms.append(first)
