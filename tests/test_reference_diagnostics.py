"""The diagnostics oracle agrees with numpy/torch norms and with the contract's rules, and its
recorded training runs show what the graded tests say they show."""
import math

import numpy as np
import pytest
import torch

from reference import diagnostics as ref


@pytest.mark.parametrize("seed", range(10))
def test_layer_grad_norms_match_frobenius_norms(seed):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(tuple(rng.integers(1, 5, size=2))) for _ in range(4)] + [rng.standard_normal(())]
    want = [torch.linalg.matrix_norm(torch.tensor(g), "fro").item() for g in grads[:-1]] + [abs(float(grads[-1]))]
    np.testing.assert_allclose(ref.layer_grad_norms(grads), want, rtol=1e-12)


def test_layer_grad_norms_keep_nan_and_inf():
    got = ref.layer_grad_norms([np.array([1.0, math.nan]), np.array([-math.inf, 1.0]), np.zeros((2, 2))])
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == 0.0


@pytest.mark.parametrize("norms, kwargs, want", [
    ([1.0, math.nan], {}, "exploding"),
    ([math.inf], {}, "exploding"),
    ([1e-9, 1.0, 1e4], {}, "exploding"),
    ([1.0, 1000.0, 1.0], {}, "healthy"),
    ([1.0, 3.0], {"explode_threshold": 2.0}, "exploding"),
    ([0.0, 0.0], {}, "vanishing"),
    ([1.0, 0.0], {}, "vanishing"),
    ([1e-4, 1.0], {}, "vanishing"),
    ([1.0, 1e-4], {}, "healthy"),
    ([0.25, 1.0], {"vanish_ratio": 0.25}, "healthy"),
    ([0.25, 1.0000001], {"vanish_ratio": 0.25}, "vanishing"),
])
def test_diagnose_follows_the_contract(norms, kwargs, want):
    assert ref.diagnose(np.array(norms), **kwargs) == want


def test_dead_relu_fraction_matches_relu_outputs():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 40)) - 1.5
    z[:, :3] = 0.0
    dead_by_relu = (torch.relu(torch.tensor(z)) == 0).all(dim=0).double().mean().item()
    assert ref.dead_relu_fraction(z) == dead_by_relu
    assert ref.dead_relu_fraction(np.zeros((2, 2))) == 1.0


@pytest.mark.parametrize("network, verdict", [("sigmoid_20", "vanishing"), ("identity_1.5", "exploding"),
                                              ("he_relu", "healthy")])
def test_training_runs_show_their_problem(network, verdict):
    runs = ref.training_gradients(network)
    assert len(runs) == 3
    assert all(ref.diagnose(ref.layer_grad_norms(grads)) == verdict for grads in runs)


def test_training_runs_are_deterministic():
    a, b = ref.training_gradients("he_relu"), ref.training_gradients("he_relu")
    assert all(np.array_equal(x, y) for ga, gb in zip(a, b) for x, y in zip(ga, gb))


def test_sigmoid_run_vanishes_by_orders_of_magnitude():
    norms = ref.layer_grad_norms(ref.training_gradients("sigmoid_20")[0])
    assert norms[0] / norms[-1] < 1e-9


def test_exploding_run_overflows_then_turns_nan():
    finite, overflow, nan = (ref.layer_grad_norms(g) for g in ref.training_gradients("identity_1.5"))
    assert np.isfinite(finite).all() and finite.min() > 1e6
    assert np.isinf(overflow).any() and np.isnan(nan).any()


def test_negative_bias_kills_units():
    fractions = [ref.dead_relu_fraction(ref.relu_preactivations(b)) for b in (0.0, -3.0, -10.0)]
    assert fractions[0] == 0.0 and 0.2 < fractions[1] < 0.8 and fractions[2] == 1.0
