"""The batch-norm oracle against torch's built-ins: F.batch_norm for the training pass and
its autograd, torch.nn.BatchNorm1d for running statistics and evaluation."""
import numpy as np
import pytest
import torch.nn.functional as F

from reference import batchnorm as ref
from reference._autograd import numpy, tensor

SHAPES = [(2, 1), (2, 5), (7, 3), (32, 4)]


def data(shape, seed):
    rng = np.random.default_rng(seed)
    n, d = shape
    return (rng.normal(2.0, 3.0, shape), rng.normal(size=d), rng.normal(size=d), rng.normal(size=shape))


def builtin(x, gamma, beta, eps=1e-5):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_equals_functional_batch_norm(shape):
    x, gamma, beta, _ = data(shape, 0)
    want = numpy(builtin(tensor(x), tensor(gamma), tensor(beta)))
    np.testing.assert_allclose(ref.batchnorm_forward(x, gamma, beta), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_grads_equal_functional_batch_norm_autograd(shape):
    x, gamma, beta, dout = data(shape, 1)
    ts = [tensor(v, grad=True) for v in (x, gamma, beta)]
    builtin(*ts).backward(tensor(dout))
    for got, t in zip(ref.batchnorm_grads(x, gamma, beta, dout), ts):
        np.testing.assert_allclose(got, numpy(t.grad), rtol=1e-8, atol=1e-10)


def test_constant_feature_is_finite():
    x = np.array([[1.0, 4.0], [1.0, -4.0]])
    out = ref.batchnorm_forward(x, np.ones(2), np.array([0.5, 0.0]))
    grads = ref.batchnorm_grads(x, np.ones(2), np.zeros(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert np.all(np.isfinite(out)) and all(np.all(np.isfinite(g)) for g in grads)
    assert np.allclose(out[:, 0], 0.5)


@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_formulas_follow_batchnorm1d_over_a_sequence(momentum):
    rng = np.random.default_rng(2)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    batches = [rng.normal(1.0, 2.0, (n, 3)) for n in (2, 5, 9)]
    test_batch = rng.normal(size=(4, 3))
    steps, eval_out = ref.batchnorm1d_run(batches, test_batch, gamma, beta, momentum)
    mean, var = np.zeros(3), np.ones(3)
    for x, (out, want_mean, want_var) in zip(batches, steps):
        np.testing.assert_allclose(ref.batchnorm_forward(x, gamma, beta), out, rtol=1e-10, atol=1e-12)
        mean, var = ref.update_running_stats(mean, var, x, momentum)
        np.testing.assert_allclose(mean, want_mean, rtol=1e-12)
        np.testing.assert_allclose(var, want_var, rtol=1e-12)
    np.testing.assert_allclose(ref.batchnorm_inference(test_batch, gamma, beta, mean, var), eval_out,
                               rtol=1e-10, atol=1e-12)
