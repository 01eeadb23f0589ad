"""The initializers oracle against torch.nn.init, after translating our (k..., in, out)
layout to torch's (out, in, k...), and the handout's 0.5·I / 1.5·I numbers."""
import math

import numpy as np
import pytest
import torch

from reference import initializers as ref

SHAPES = [(7, 3), (3, 5, 4), (3, 3, 16, 8), (2, 3, 2, 5, 6)]


def torch_layout(shape):
    """Our (k1, ..., in, out) as torch's (out, in, k1, ...)."""
    return (shape[-1], shape[-2], *shape[:-2])


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_equal_torch_after_transposing(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(torch_layout(shape)))
    assert ref.fan_in_and_fan_out(shape) == want


@pytest.mark.parametrize("shape", [(), (4,)])
def test_fans_refuse_fewer_than_two_dimensions(shape):
    with pytest.raises(ValueError):
        ref.fan_in_and_fan_out(shape)


@pytest.mark.parametrize("name, param", [("linear", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                         ("leaky_relu", 0.0), ("selu", None)])
def test_gain_equals_torch(name, param):
    assert ref.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-15)


@pytest.mark.parametrize("name", ["conv2d", "softmax", "gelu"])
def test_gain_refuses_names_outside_the_contract(name):
    with pytest.raises(ValueError):
        ref.calculate_gain(name)


def torch_init(name, shape, gain, seed):
    """torch.nn.init's version of `name` on our `shape`, in torch's layout, flattened."""
    t = torch.empty(torch_layout(shape), dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    init = torch.nn.init
    {"xavier_uniform": lambda: init.xavier_uniform_(t, gain, generator=g),
     "xavier_normal": lambda: init.xavier_normal_(t, gain, generator=g),
     "he_uniform": lambda: init.kaiming_uniform_(t, a=0, nonlinearity="relu", generator=g),
     "he_normal": lambda: init.kaiming_normal_(t, a=0, nonlinearity="relu", generator=g),
     "lecun_uniform": lambda: init.kaiming_uniform_(t, nonlinearity="linear", generator=g),
     "lecun_normal": lambda: init.kaiming_normal_(t, nonlinearity="linear", generator=g)}[name]()
    return t.numpy().ravel()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal"])
def test_samplers_equal_torch_init_draw_for_draw(name, shape):
    # One generator, the same number of draws in memory order: equal values mean equal
    # bounds and standard deviations, the fans computed each in its own layout.
    gain = 5 / 3 if name.startswith("xavier") else 1.0
    kwargs = {"gain": gain} if name.startswith("xavier") else {}
    ours = getattr(ref, name)(shape, seed=3, **kwargs)
    assert ours.shape == shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours.ravel(), torch_init(name, shape, gain, 3), rtol=1e-12, atol=0)


def test_bounds_are_sqrt3_stds():
    shape = (3, 3, 16, 8)
    for kind in ["xavier", "he", "lecun"]:
        a = ref.uniform_bound(f"{kind}_uniform", shape, 2.0)
        s = ref.normal_std(f"{kind}_normal", shape, 2.0)
        assert a == pytest.approx(math.sqrt(3) * s)


def test_seed_decides_the_sample():
    assert np.array_equal(ref.he_normal((5, 4), seed=1), ref.he_normal((5, 4), seed=1))
    assert not np.array_equal(ref.he_normal((5, 4), seed=1), ref.he_normal((5, 4), seed=2))
    assert not ref.zeros((2, 3)).any() and ref.zeros((2, 3)).dtype == np.float64


@pytest.mark.parametrize("factor", [0.5, 1.5])
def test_scaled_identity_weights_scale_the_output_by_factor_to_the_depth(factor):
    # The course notes' example: L - 1 layers of factor * I multiply the input by factor**(L-1).
    depth = 50
    x = np.random.default_rng(0).standard_normal((8, 2))
    stds = ref.activation_stds(x, [factor * np.eye(2)] * (depth - 1), "linear")
    assert stds[-1] == pytest.approx(x.std() * factor ** (depth - 1), rel=1e-9)


def test_he_relu_network_keeps_its_scale_where_lecun_collapses():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 256))
    he = ref.activation_stds(x, [ref.he_normal((256, 256), seed=s) for s in range(50)], "relu")
    lecun = ref.activation_stds(x, [ref.lecun_normal((256, 256), seed=s) for s in range(50)], "relu")
    assert all(0.01 <= s <= 100 for s in he)
    assert lecun[-1] < 1e-5
