"""Public tests for 04 batch normalization: the training forward pass against the reference
and its defining properties, the backward pass against autograd, running statistics and
inference against torch.nn.BatchNorm1d, and what batch norm does for a deep sigmoid network."""
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.grading.checks import (as_array, assert_at_least, assert_close, assert_finite,
                                       assert_unchanged)
from autograder.grading.strategies import floats
from autograder.grading.testing import graded, student_module
from reference import batchnorm as ref

batchnorm = student_module("batchnorm")

# The contract's defaults: the reference is always called with them spelled out.
EPS, MOMENTUM = 1e-5, 0.1


@st.composite
def batches(draw, min_n=2, max_n=8, max_d=5):
    """(x, gamma, beta, dout): a batch (N, D), the layer's parameters and an upstream gradient."""
    n, d = draw(st.integers(min_n, max_n)), draw(st.integers(1, max_d))
    x = draw(hnp.arrays(np.float64, (n, d), elements=floats(10)))
    gamma, beta = (draw(hnp.arrays(np.float64, (d,), elements=floats(3))) for _ in range(2))
    dout = draw(hnp.arrays(np.float64, (n, d), elements=floats(10)))
    return x, gamma, beta, dout


@st.composite
def spread_batches(draw):
    """(x, scale, shift): a batch whose every feature has variance >= 1 (far above eps),
    and a positive scale and a shift per feature."""
    n, d = draw(st.integers(2, 16)), draw(st.integers(1, 6))
    x = draw(hnp.arrays(np.float64, (n, d), elements=floats(100)))
    assume(x.var(axis=0).min() >= 1.0)
    scale = draw(hnp.arrays(np.float64, (d,), elements=st.floats(0.01, 100)))
    shift = draw(hnp.arrays(np.float64, (d,), elements=floats(100)))
    return x, scale, shift


# N = 2 (the smallest batch) and constant features (variance 0: only eps keeps the
# division finite), with and without other features beside them.
DEGENERATE = [np.array([[1.0, 3.0], [-2.0, 3.0]]), np.full((4, 3), 7.5), np.array([[0.0], [0.0]]),
              np.array([[1e-3, -5.0, 2.0], [1e-3, 5.0, 2.0], [1e-3, 0.0, 2.0]])]


def backward(module, x, gamma, beta, dout, eps=1e-5):
    _, cache = module.batchnorm_forward(x, gamma, beta, eps)
    return module.batchnorm_backward(dout, cache)


@graded("batchnorm_forward", points=3, hint="normalize every feature (column, axis=0) with "
        "the batch mean and the biased variance x.var(axis=0) (divided by N, not N - 1), eps "
        "inside the square root, then gamma * xhat + beta; check the default of eps: 1e-5")
@given(batch=batches())
def test_forward_equals_reference(batchnorm, batch):
    """batchnorm_forward's output (eps left at its default) equals the PyTorch reference on batches of any (N, D)"""
    x, gamma, beta, _ = batch
    want = ref.batchnorm_forward(x, gamma, beta, EPS)
    out, _ = batchnorm.batchnorm_forward(x, gamma, beta)
    assert_close(out, want, "batchnorm_forward(x, gamma, beta)[0]")


@graded("batchnorm_forward", points=1, hint="use the eps you are given, sqrt(var + eps), not a "
        "constant such as 1e-5: a caller may pass another one")
@given(batch=batches(), eps=st.floats(1e-4, 10.0))
def test_forward_uses_its_eps(batchnorm, batch, eps):
    """batchnorm_forward(x, gamma, beta, eps) equals the PyTorch reference for any eps > 0"""
    x, gamma, beta, _ = batch
    want = ref.batchnorm_forward(x, gamma, beta, eps)
    out, _ = batchnorm.batchnorm_forward(x, gamma, beta, eps)
    assert_close(out, want, f"batchnorm_forward(x, gamma, beta, eps={eps!r})[0]")


@graded("batchnorm_forward", points=2, hint="the variance of the normalization is the biased "
        "one (divided by N): with N - 1 the output's variance is (N - 1) / N, not 1; eps inside "
        "the square root makes it var / (var + eps) exactly (check the default of eps: 1e-5)")
@given(batch=spread_batches())
def test_forward_output_has_mean_zero_and_variance_one(batchnorm, batch):
    """with gamma = 1 and beta = 0, every output feature has batch mean 0 and variance 1 (exactly var / (var + eps))"""
    x, _, _ = batch
    d = x.shape[1]
    # eps = 1e-5 against variances >= 1: the variance is var / (var + eps), within 1e-5 of 1.
    # Worked out before the call: the expected value never depends on what the call left in x.
    var = x.var(axis=0)
    out, _ = batchnorm.batchnorm_forward(x, np.ones(d), np.zeros(d))
    out = as_array(out, "batchnorm_forward(x, 1, 0)[0]", x.shape)
    assert_close(out.mean(axis=0), np.zeros(d), "the per-feature mean of batchnorm_forward(x, 1, 0)[0]")
    assert_close(out.var(axis=0), var / (var + EPS),
                 "the per-feature variance of batchnorm_forward(x, 1, 0)[0]")


@graded("batchnorm_forward", points=2, hint="each column gets its own mean and variance "
        "(axis=0); normalizing over a row (axis=1) or over the whole array is not batch norm",
        counts_with="batchnorm_forward")
@given(batch=spread_batches(), gamma=st.floats(-3, 3), beta=st.floats(-3, 3))
def test_forward_ignores_each_features_scale_and_shift(batchnorm, batch, gamma, beta):
    """batchnorm_forward gives the same output for x and x * scale + shift (per feature, scale > 0)"""
    x, scale, shift = batch
    d = x.shape[1]
    moved_x = x * scale + shift
    # eps = 1e-20 against variances >= 1e-4 (after the smallest scale) vanishes in rounding:
    # the two outputs differ by rounding alone.
    plain, _ = batchnorm.batchnorm_forward(x, np.full(d, gamma), np.full(d, beta), 1e-20)
    moved, _ = batchnorm.batchnorm_forward(moved_x, np.full(d, gamma), np.full(d, beta), 1e-20)
    plain = as_array(plain, "batchnorm_forward(x, gamma, beta, 1e-20)[0]", x.shape)
    assert_close(moved, plain, "batchnorm_forward(x * scale + shift, gamma, beta, 1e-20)[0]")


@graded("batchnorm_forward", points=1, hint="add eps (1e-5 by default) to the variance before "
        "the square root, sqrt(var + eps), and never divide by the standard deviation alone",
        counts_with="batchnorm_forward")
def test_forward_handles_tiny_and_constant_batches(batchnorm):
    """batchnorm_forward is finite and correct for N = 2 and for features of variance zero"""
    rng = np.random.default_rng(4)
    for x in DEGENERATE:
        gamma, beta = rng.normal(size=x.shape[1]), rng.normal(size=x.shape[1])
        what = f"batchnorm_forward(x of shape {x.shape})[0]"
        want = ref.batchnorm_forward(x, gamma, beta, EPS)
        out, _ = batchnorm.batchnorm_forward(x.copy(), gamma.copy(), beta.copy())
        assert_finite(out, what)
        assert_close(out, want, what)


@graded("batchnorm_backward", points=1, hint="divide by sqrt(var + eps), the same as in the "
        "forward pass (keep it in the cache), never by the standard deviation alone",
        counts_with="batchnorm_backward")
def test_backward_handles_tiny_and_constant_batches(batchnorm):
    """batchnorm_backward is finite and equals autograd for N = 2 and for features of variance zero"""
    rng = np.random.default_rng(5)
    for x in DEGENERATE:
        gamma, beta, dout = rng.normal(size=x.shape[1]), rng.normal(size=x.shape[1]), rng.normal(size=x.shape)
        want = ref.batchnorm_grads(x, gamma, beta, dout, EPS)
        got = backward(batchnorm, x.copy(), gamma.copy(), beta.copy(), dout.copy(), EPS)
        for g, w, name in zip(got, want, ["dx", "dgamma", "dbeta"]):
            what = f"{name} of batchnorm_backward for x of shape {x.shape}"
            assert_finite(g, what)
            assert_close(g, w, what)


@graded("batchnorm_backward", points=3, hint="x reaches the output three ways: directly, through "
        "the batch mean and through the batch variance; dx = gamma / sqrt(var + eps) * "
        "(dout - mean(dout) - xhat * mean(dout * xhat)), means over the batch")
@given(batch=batches())
def test_backward_dx_equals_autograd(batchnorm, batch):
    """dx of batchnorm_backward equals autograd's on batches of any (N, D)"""
    x, gamma, beta, dout = batch
    want_dx, _, _ = ref.batchnorm_grads(x, gamma, beta, dout, EPS)
    dx, _, _ = backward(batchnorm, x, gamma, beta, dout, EPS)
    assert_close(dx, want_dx, "dx of batchnorm_backward")


@graded("batchnorm_backward", points=2, hint="dgamma = sum over the batch of dout * xhat and "
        "dbeta = sum of dout: both of shape (D,), summed over axis=0")
@given(batch=batches())
def test_backward_dgamma_dbeta_equal_autograd(batchnorm, batch):
    """dgamma and dbeta of batchnorm_backward equal autograd's on batches of any (N, D)"""
    x, gamma, beta, dout = batch
    _, want_dgamma, want_dbeta = ref.batchnorm_grads(x, gamma, beta, dout, EPS)
    _, dgamma, dbeta = backward(batchnorm, x, gamma, beta, dout, EPS)
    assert_close(dgamma, want_dgamma, "dgamma of batchnorm_backward")
    assert_close(dbeta, want_dbeta, "dbeta of batchnorm_backward")


@graded("batchnorm_backward", points=2, hint="the output does not change when the same number "
        "is added to a whole feature, so the columns of dx sum to 0: a missing mean term breaks it")
@given(batch=batches(min_n=3, max_n=16))
def test_backward_identities(batchnorm, batch):
    """dbeta = sum of dout over the batch, and dx sums to 0 over the batch"""
    x, gamma, beta, dout = batch
    want_dbeta = dout.sum(axis=0)
    dx, _, dbeta = backward(batchnorm, x, gamma, beta, dout, EPS)
    dx = as_array(dx, "dx of batchnorm_backward", x.shape)
    assert_close(dbeta, want_dbeta, "dbeta of batchnorm_backward")
    # A column summing to 0: its positive entries add up to minus its negative ones (a
    # comparison at the contract's tolerance, relative to the size of the terms).
    assert_close(np.where(dx > 0, dx, 0.0).sum(axis=0), -np.where(dx < 0, dx, 0.0).sum(axis=0),
                 "the sum of the positive entries of each column of dx (expected: minus the sum "
                 "of its negative ones, the column summing to 0)")


@graded("batchnorm_backward", points=1, hint="build new arrays: `dout -= ...` or writing into "
        "the cache's arrays changes what the caller holds", counts_with="batchnorm_backward")
@given(batch=batches())
def test_forward_and_backward_leave_inputs_untouched(batchnorm, batch):
    """batchnorm_forward and batchnorm_backward leave x, gamma, beta and dout untouched"""
    x, gamma, beta, dout = batch
    before = [v.copy() for v in batch]
    dx, _, _ = backward(batchnorm, x, gamma, beta, dout)
    as_array(dx, "dx of batchnorm_backward", x.shape)
    for name, old, new in zip(["x", "gamma", "beta", "dout"], before, batch):
        assert_unchanged(old, new, f"batchnorm_forward/batchnorm_backward ({name})")


@graded("update_running_stats", points=2, hint="new = (1 - momentum) * old + momentum * batch "
        "statistic (momentum weighs the new batch, as in PyTorch), with the unbiased variance "
        "x.var(axis=0, ddof=1)")
@given(x=batches().map(lambda batch: batch[0]),
       running=st.tuples(*(hnp.arrays(np.float64, 5, elements=st.floats(0, 5)) for _ in range(2))),
       momentum=st.floats(0.0, 1.0))
@example(x=np.array([[1.0, 2.0], [3.0, -2.0], [2.0, 0.0]]), running=(np.zeros(5), np.ones(5)), momentum=0.1)
def test_update_running_stats_equals_reference(batchnorm, x, running, momentum):
    """update_running_stats returns the momentum average of the old statistics and the batch's, and leaves the old ones untouched"""
    d = x.shape[1]
    mean, var = running[0][:d].copy(), running[1][:d].copy()
    before = mean.copy(), var.copy()
    want = ref.update_running_stats(mean, var, x, momentum)
    got = batchnorm.update_running_stats(mean, var, x, momentum)
    assert_close(got[0], want[0], f"new_mean of update_running_stats(momentum={momentum:.4g})")
    assert_close(got[1], want[1], f"new_var of update_running_stats(momentum={momentum:.4g})")
    assert_unchanged(before[0], mean, "update_running_stats (running_mean)")
    assert_unchanged(before[1], var, "update_running_stats (running_var)")


@graded("update_running_stats", points=1, hint="check the default of momentum: 0.1, PyTorch's "
        "(the weight of the new batch, not Keras's 0.99 for the old value)")
@given(x=batches().map(lambda batch: batch[0]),
       running=st.tuples(*(hnp.arrays(np.float64, 5, elements=st.floats(0, 5)) for _ in range(2))))
def test_update_running_stats_default_momentum(batchnorm, x, running):
    """update_running_stats without a momentum argument uses momentum = 0.1"""
    d = x.shape[1]
    mean, var = running[0][:d].copy(), running[1][:d].copy()
    want = ref.update_running_stats(mean, var, x, MOMENTUM)
    got = batchnorm.update_running_stats(mean.copy(), var.copy(), x.copy())
    assert_close(got[0], want[0], "new_mean of update_running_stats(running_mean, running_var, x)")
    assert_close(got[1], want[1], "new_var of update_running_stats(running_mean, running_var, x)")


@graded("batchnorm_inference", points=2, hint="evaluation uses the running statistics, not the "
        "batch's: gamma * (x - running_mean) / sqrt(running_var + eps) + beta, with the eps "
        "passed in; check the default of eps: 1e-5")
@given(batch=batches(min_n=1), stats=st.tuples(*(hnp.arrays(np.float64, 5, elements=st.floats(0, 5)) for _ in range(2))),
       eps=st.floats(1e-4, 10.0))
def test_inference_equals_reference(batchnorm, batch, stats, eps):
    """batchnorm_inference equals the reference given running statistics, with eps at its default and given"""
    x, gamma, beta, _ = batch
    d = x.shape[1]
    mean, var = stats[0][:d] - 2.5, stats[1][:d]
    want = ref.batchnorm_inference(x, gamma, beta, mean, var, EPS)
    got = batchnorm.batchnorm_inference(x, gamma, beta, mean, var)
    assert_close(got, want, "batchnorm_inference(x, gamma, beta, running_mean, running_var)")
    want = ref.batchnorm_inference(x, gamma, beta, mean, var, eps)
    got = batchnorm.batchnorm_inference(x, gamma, beta, mean, var, eps)
    assert_close(got, want, f"batchnorm_inference(x, gamma, beta, running_mean, running_var, eps={eps!r})")


@pytest.mark.parametrize("momentum", [0.1, 0.3])
@graded("update_running_stats", points=2, hint="start from PyTorch's running_mean = 0 and "
        "running_var = 1; each training batch moves them by momentum towards the batch's mean "
        "and unbiased variance; evaluation then normalizes with them",
        counts_with="update_running_stats")
def test_train_then_eval_follows_torch_batchnorm1d(batchnorm, momentum):
    """over 5 training batches then an evaluation (momentum {momentum}), the running statistics and the evaluation output equal torch.nn.BatchNorm1d's"""
    rng = np.random.default_rng(7)
    d = 4
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    training = [rng.normal(loc=3.0, scale=2.0, size=(rng.integers(2, 9), d)) for _ in range(5)]
    test_batch = rng.normal(loc=3.0, scale=2.0, size=(6, d))
    steps, want_eval = ref.batchnorm1d_run(training, test_batch, gamma, beta, momentum, EPS)
    mean, var = np.zeros(d), np.ones(d)
    for step, (x, (_, want_mean, want_var)) in enumerate(zip(training, steps), start=1):
        mean, var = batchnorm.update_running_stats(mean, var, x, momentum)
        assert_close(mean, want_mean, f"running_mean after training batch {step}")
        assert_close(var, want_var, f"running_var after training batch {step}")
    got = batchnorm.batchnorm_inference(test_batch, gamma, beta, mean, var)
    assert_close(got, want_eval, "batchnorm_inference with the running statistics after training")


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def first_layer_grad_norm(module, x, weights, dout):
    """||dL/dW1|| of h <- sigmoid(h @ W) (through the student's batch norm before each sigmoid
    when `module` is given), for L = sum(output * dout)."""
    h, layers = x, []
    for W in weights:
        z, cache = h @ W, None
        if module is not None:
            z, cache = module.batchnorm_forward(z, np.ones(W.shape[1]), np.zeros(W.shape[1]))
        a = sigmoid(z)
        layers.append((h, cache, a))
        h = a
    for (h_in, cache, a), W in zip(reversed(layers), reversed(weights)):
        dz = dout * a * (1 - a)
        if module is not None:
            dz, _, _ = module.batchnorm_backward(dz, cache)
        dW, dout = h_in.T @ dz, dz @ W.T
    return np.linalg.norm(dW)


@graded("batchnorm_backward", points=2, hint="the phenomenon needs both passes right: the "
        "forward pass normalizing each feature over the batch, the backward pass dividing by "
        "sqrt(var + eps) as the forward pass did", counts_with="batchnorm_backward")
def test_batchnorm_revives_the_first_layers_gradient(batchnorm):
    """batch norm before every sigmoid of a 10-layer network raises the first layer's gradient norm over 1000-fold"""
    # Deterministic data: the plain network's gradient is about 3e-4 and a correct batch
    # norm gives about 2e2, a ratio near 5e5; the test asks for 1e3.
    rng = np.random.default_rng(0)
    width, batch = 64, 128
    x = rng.standard_normal((batch, width))
    weights = [rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(10)]
    dout = rng.standard_normal((batch, width))
    plain = first_layer_grad_norm(None, x, weights, dout)
    normalized = first_layer_grad_norm(batchnorm, x, weights, dout)
    assert_finite(normalized, "the first layer's gradient with batchnorm")
    assert_at_least(normalized, 1e3 * plain, f"with batch norm the first layer's gradient norm "
                    f"(without it {plain:.3g}; expected a rise by a factor above 1000)")
