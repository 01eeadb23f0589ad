"""Public tests for 03 initializers: fans and gains against the reference, the distribution
of every initializer by exact bounds and by statistical tests on large samples, and the
reason initializers exist: a 50-layer network keeps its activations' scale."""
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.grading.checks import (as_array, as_float, assert_at_least, assert_at_most,
                                       assert_close)
from autograder.grading.strategies import shapes
from autograder.grading.testing import graded, student_module
from reference import initializers as ref

initializers = student_module("initializers")

UNIFORM = ["xavier_uniform", "he_uniform", "lecun_uniform"]
NORMAL = ["xavier_normal", "he_normal", "lecun_normal"]
RANDOM = ["uniform"] + UNIFORM + NORMAL
GAINS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
seeds = st.integers(0, 2 ** 32 - 1)

# A dense weight with fan_in != fan_out and a 3x3 convolution kernel (k1, k2, in, out):
# every formula, fan mistake and forgotten receptive field gives a different distribution
# on one of them. Each has at least 13824 entries, which the bounds below rely on.
SAMPLE_SHAPES = [(400, 100), (3, 3, 48, 32)]
# xavier takes a gain: the dense weight is drawn with the default one (None: no gain
# argument, the contract's 1.0), the kernel with tanh's, so that a dropped gain shows.
SAMPLE_GAINS = [None, 5.0 / 3.0]


def gain_of(gain):
    """The gain the contract expects for `gain`: xavier's default 1.0 when none is passed."""
    return 1.0 if gain is None else gain


def draw(module, name, shape, gain, seed=0):
    """name(shape, [gain,] seed=seed) from the student, as an ndarray of `shape`."""
    kwargs = {"gain": gain} if name.startswith("xavier") and gain is not None else {}
    what = f"{name}({shape}{', gain=' + format(gain, '.4g') if kwargs else ''}, seed={seed})"
    return as_array(getattr(module, name)(shape, seed=seed, **kwargs), what, shape), what


@graded("fan_in_and_fan_out", points=1, hint="a dense weight is (fan_in, fan_out): "
        "fan_in is shape[0], fan_out is shape[1]", counts_with="fan_in_and_fan_out")
@given(shape=shapes(min_dims=2, max_dims=2, max_side=50))
def test_fans_of_a_dense_weight(initializers, shape):
    """fan_in_and_fan_out of a 2-D weight (fan_in, fan_out) is its two sizes"""
    got = tuple(initializers.fan_in_and_fan_out(shape))
    assert got == ref.fan_in_and_fan_out(shape), \
        f"fan_in_and_fan_out({shape}) gave {got}, expected {ref.fan_in_and_fan_out(shape)}"


@graded("fan_in_and_fan_out", points=2, hint="a kernel is (k1, ..., in, out): in is shape[-2], "
        "out is shape[-1] (not PyTorch's (out, in, k...)), and both are multiplied by the "
        "receptive field k1 * ... * k(n-2)")
@given(shape=shapes(min_dims=3, max_dims=5, max_side=6))
def test_fans_of_a_kernel_count_the_receptive_field(initializers, shape):
    """fan_in_and_fan_out of a kernel (k1, ..., in, out) is (in * r, out * r), r = k1 * ... * k(n-2)"""
    got = tuple(initializers.fan_in_and_fan_out(shape))
    assert got == ref.fan_in_and_fan_out(shape), \
        f"fan_in_and_fan_out({shape}) gave {got}, expected {ref.fan_in_and_fan_out(shape)}"


@graded("fan_in_and_fan_out", points=1, hint="check len(shape) < 2 first and raise ValueError "
        "yourself: a bias or a scalar has no fan_in and fan_out", counts_with="fan_in_and_fan_out")
def test_fans_refuse_fewer_than_two_dimensions(initializers):
    """fan_in_and_fan_out raises ValueError for shapes of 0 or 1 dimension"""
    for shape in [(), (7,)]:
        with pytest.raises(ValueError):
            initializers.fan_in_and_fan_out(shape)
            pytest.fail(f"fan_in_and_fan_out({shape}) returned instead of raising ValueError")


@pytest.mark.parametrize("name", GAINS)
@graded("calculate_gain", points=1, hint="the gains are linear/sigmoid 1, tanh 5/3, relu sqrt(2), "
        "leaky_relu sqrt(2 / (1 + a**2)) with a = param or 0.01, selu 3/4",
        counts_with="calculate_gain")
def test_gain(initializers, name):
    """calculate_gain("{name}") is the contract's gain (leaky_relu: with its default and given slopes)"""
    params = [None, 0.0, 0.2, 1.0, 3.0] if name == "leaky_relu" else [None]
    for param in params:
        call = f"calculate_gain({name!r}{'' if param is None else f', {param}'})"
        args = () if param is None else (param,)
        got = as_float(initializers.calculate_gain(name, *args), call)
        assert_close(got, ref.calculate_gain(name, 0.01 if param is None else param), call)


@graded("calculate_gain", points=1, hint="leaky_relu's gain is sqrt(2 / (1 + a**2)) with a = param, "
        "the slope passed in; check the default of param: without one, a = 0.01")
@given(param=st.one_of(st.none(), st.floats(0, 10)))
@example(param=None)
def test_leaky_relu_gain_follows_its_slope(initializers, param):
    """calculate_gain("leaky_relu", param) is sqrt(2 / (1 + param²)), with param = 0.01 when none is given"""
    call = f"calculate_gain('leaky_relu'{'' if param is None else f', {param!r}'})"
    args = () if param is None else (param,)
    got = as_float(initializers.calculate_gain("leaky_relu", *args), call)
    assert_close(got, ref.calculate_gain("leaky_relu", 0.01 if param is None else param), call)


@graded("calculate_gain", points=1, hint="after the known names, end with "
        "`raise ValueError(...)`: returning None or 1 hides a typo in the caller's code",
        counts_with="calculate_gain")
def test_gain_refuses_unknown_names(initializers):
    """calculate_gain raises ValueError for a name outside the contract"""
    for name in ["softmax", "ReLU", "gelu", "conv2d", ""]:
        with pytest.raises(ValueError):
            initializers.calculate_gain(name)
            pytest.fail(f"calculate_gain({name!r}) returned instead of raising ValueError")


@graded("zeros", points=1, hint="np.zeros(shape) is float64 already; this point counts together "
        "with uniform's: it is earned once uniform passes its value tests", counts_with="uniform")
@given(shape=shapes(min_dims=1, max_dims=4))
def test_zeros(initializers, shape):
    """zeros(shape) is a float64 array of zeros of that shape (counts once uniform is right)"""
    got = as_array(initializers.zeros(shape), f"zeros({shape})", shape)
    assert got.dtype == np.float64, f"zeros({shape}) has dtype {got.dtype}, expected float64"
    assert not got.any(), f"zeros({shape}) has non-zero entries"


@graded("uniform", points=1, hint="rng.uniform(low, high, size=shape): the order of low and "
        "high matters, and the draws must fill the whole interval")
@given(low=st.floats(-100, 100), width=st.floats(0.1, 100), seed=seeds)
def test_uniform_fills_low_to_high(initializers, low, width, seed):
    """uniform(shape, low, high) stays in [low, high] and comes within 1% of both ends"""
    high = low + width
    shape = (200, 100)
    what = f"uniform({shape}, {low:.4g}, {high:.4g}, seed={seed})"
    w = as_array(initializers.uniform(shape, low, high, seed=seed), what, shape)
    assert_at_least(w.min(), low, f"the smallest value of {what}")
    assert_at_most(w.max(), high, f"the largest value of {what}")
    # A correct sampler misses the 1% at one end with probability 0.99**20000 < 1e-87.
    assert_at_most(w.min(), low + 0.01 * width,
                   f"the smallest value of {what} (it must come within 1% of low)")
    assert_at_least(w.max(), high - 0.01 * width,
                    f"the largest value of {what} (it must come within 1% of high)")


@pytest.mark.parametrize("name", UNIFORM)
@graded("{name}", points=2, hint="a = sqrt(3) * std: xavier sqrt(6 / (fan_in + fan_out)) "
        "times gain (check the default of gain: 1.0), he sqrt(6 / fan_in), lecun sqrt(3 / fan_in); "
        "the std itself is not the bound, and for a kernel the fans include the receptive field")
@given(seed=seeds)
def test_uniform_initializer_has_the_bound(initializers, name, seed):
    """{name} lies in [-a, a] and comes within 1% of both ends for any seed, a being the contract's bound"""
    for shape, gain in zip(SAMPLE_SHAPES, SAMPLE_GAINS):
        w, what = draw(initializers, name, shape, gain, seed)
        a = ref.uniform_bound(name, shape, gain_of(gain))
        assert_at_most(np.abs(w).max(), a, f"the largest |value| of {what} (the bound a)")
        # With n >= 13824 draws, a correct sampler stays below 0.99 a (or above -0.99 a)
        # with probability 0.995**n < 1e-30 per end and shape.
        assert_at_least(w.max(), 0.99 * a,
                        f"the largest value of {what} (it must come within 1% of a = {a:.6g})")
        assert_at_most(w.min(), -0.99 * a,
                       f"the smallest value of {what} (it must come within 1% of -a = {-a:.6g})")


@pytest.mark.parametrize("name", NORMAL)
@graded("{name}", points=2, hint="std: xavier gain * sqrt(2 / (fan_in + fan_out)) (check the "
        "default of gain: 1.0), he sqrt(2 / fan_in) (sqrt(1 / fan_in) is LeCun's), lecun "
        "sqrt(1 / fan_in); fans of a kernel include the receptive field; draw "
        "rng.normal(0, std, shape), not truncated")
@given(seed=seeds)
def test_normal_initializer_has_the_std(initializers, name, seed):
    """{name} has mean square s² (within 10%) and untruncated tails for any seed, s being the contract's std"""
    for shape, gain in zip(SAMPLE_SHAPES, SAMPLE_GAINS):
        w, what = draw(initializers, name, shape, gain, seed)
        s = ref.normal_std(name, shape, gain_of(gain))
        # n * mean(w²) / s² is chi-square with n >= 13824 degrees of freedom; by the Chernoff
        # bound P(chi2_n / n > 1 + t) <= exp(-n/2 (t - ln(1 + t))) and the like below, it
        # leaves [0.9, 1.1] with probability below 1e-14 for a correct sampler.
        rms = math.sqrt(np.mean(w ** 2))
        spread = f"the standard deviation (root mean square) of {what}, expected s = {s:.6g} " \
                 "within 5%"
        assert_at_least(rms, math.sqrt(0.9) * s, spread)
        assert_at_most(rms, math.sqrt(1.1) * s, spread)
        # P(|Z| > 3) = 0.0027: all n draws within 3 s has probability 0.9973**n < 1e-16.
        assert_at_least(np.abs(w).max(), 3 * s, f"the largest |value| of {what} (an untruncated "
                        f"normal goes beyond 3 s = {3 * s:.6g})")


@pytest.mark.parametrize("name", RANDOM)
@graded("{name}", points=1, hint="draw every number from rng = np.random.default_rng(seed), "
        "never from np.random's global state, and return float64 of exactly `shape`; check the "
        "default of seed (0) and, for xavier, of gain (1.0)", counts_with="{name}")
@given(shape=shapes(min_dims=2, max_dims=4, max_side=4),
       seeds=st.tuples(seeds, seeds).filter(lambda pair: pair[0] != pair[1]))
def test_seed_decides_the_array(initializers, name, shape, seeds):
    """{name} returns a float64 array of the shape asked, the same for one seed and another for another, seed 0 by default"""
    function = getattr(initializers, name)
    args = (shape, -0.5, 2.0) if name == "uniform" else (shape,)
    first, again, other = (function(*args, seed=seed) for seed in (seeds[0], seeds[0], seeds[1]))
    first = as_array(first, f"{name}({shape}, seed={seeds[0]})", shape)
    assert first.dtype == np.float64, f"{name}({shape}) has dtype {first.dtype}, expected float64"
    assert np.array_equal(first, again), f"{name}({shape}, seed={seeds[0]}) differs between two calls"
    assert not np.array_equal(first, other), \
        f"{name}({shape}) gives the same array for seeds {seeds[0]} and {seeds[1]}"
    # The contract's defaults: seed=0, and xavier's gain=1.0.
    defaults = {"gain": 1.0, "seed": 0} if name.startswith("xavier") else {"seed": 0}
    call = f"{name}({', '.join(map(repr, args))})"
    by_default = as_array(function(*args), call, shape)
    assert np.array_equal(by_default, function(*args, **defaults)), \
        f"{call} differs from the same call with " \
        f"{', '.join(f'{k}={v}' for k, v in defaults.items())}: check the default of {' and '.join(defaults)}"


# The phenomenon: 50 layers h <- act(h @ W), width 128, a batch of 256 standard normal
# inputs, one weight matrix per layer from the student's initializer (seed = layer).
DEPTH, WIDTH = 50, 128
INPUTS = np.random.default_rng(2024).standard_normal((256, WIDTH))

# (initializer, gain, activation, band for every layer's output std). The bands were set
# from 300 independent networks per case (a correct initializer with any other random
# draws is such a network): the log of a layer's std is a sum of 50 small per-layer
# factors, nearly Gaussian, and at every layer each band edge lies at least 9 of that
# layer's measured standard deviations away from its mean (relu: 9.4, log-sd up to 0.67;
# tanh: 33, log-sd 0.008; selu: 11, log-sd 0.031), so a correct initializer leaves the
# band with an estimated probability far below 1e-9 (an estimate from simulation, not a
# proven bound). A std off by sqrt(2) instead moves the last layer by 2**±25 (relu), and
# tanh with gain 1 (forgetting the gain) decays to about 0.1.
PHENOMENON = {
    "he_normal": (None, "relu", (1e-3, 1e3)),
    "xavier_normal": (5.0 / 3.0, "tanh", (0.5, 0.9)),
    "lecun_normal": (None, "selu", (0.7, 1.4)),
}


@pytest.mark.parametrize("name", list(PHENOMENON))
@graded("{name}", points=2, hint="a wrong std by a constant factor c multiplies the signal by "
        "about c at every layer, c**50 after 50 layers: check the std formula (he uses 2, "
        "lecun 1 in sqrt(./fan_in); xavier multiplies by gain)", counts_with="{name}")
def test_deep_network_keeps_its_scale(initializers, name):
    """{name} keeps every layer's output std of a 50-layer network in a band instead of vanishing or exploding"""
    gain, activation, (low, high) = PHENOMENON[name]
    weights = [draw(initializers, name, (WIDTH, WIDTH), gain, seed=layer)[0] for layer in range(DEPTH)]
    stds = ref.activation_stds(INPUTS, weights, activation)
    first = ", ".join(f"{std:.3g}" for std in stds[:3])
    for layer, std in enumerate(stds, start=1):
        what = f"with {name} weights and {activation}, the output std of layer {layer} of {DEPTH} " \
               f"(first layers: {first}, last: {stds[-1]:.3g})"
        assert_at_least(std, low, what)
        assert_at_most(std, high, what)
