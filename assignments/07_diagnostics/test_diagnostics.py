"""Public tests for 07 diagnostics: the three functions against the PyTorch reference and the
contract's edge cases, then on gradients recorded while training reference networks."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.grading.checks import as_array, as_float, assert_close, assert_unchanged
from autograder.grading.strategies import arrays, floats
from autograder.grading.testing import graded, student_module
from reference import diagnostics as ref

diagnostics = student_module("diagnostics")

VERDICTS = ("exploding", "vanishing", "healthy")
# diagnose's defaults as the contract states them, handed to the reference explicitly: its
# own defaults must not stand in for the contract's.
VANISH_RATIO, EXPLODE_THRESHOLD = 1e-3, 1e3
# Bounded so that no square overflows: then every way of computing a norm agrees.
gradient_lists = st.lists(arrays(bound=1e3, min_dims=0, max_dims=3, max_side=4), min_size=1, max_size=5)
norm_values = st.one_of(st.floats(0.0, 1e6), st.sampled_from([0.0, math.nan, math.inf]))
norm_arrays = st.lists(norm_values, min_size=1, max_size=8).map(lambda v: np.array(v, dtype=np.float64))


def norms_of(module, grads):
    got = module.layer_grad_norms([g.copy() for g in grads])
    return as_array(got, "layer_grad_norms(grads)", (len(grads),))


def verdict_of(module, norms, *args, **kwargs):
    got = module.diagnose(norms.copy(), *args, **kwargs)
    assert got in VERDICTS, f"diagnose({norms!r}) returned {got!r}, expected one of {VERDICTS}"
    return got


def fraction_of(module, z):
    return as_float(module.dead_relu_fraction(z.copy()), f"dead_relu_fraction of shape {z.shape}")


# ---------------------------------------------------------- layer_grad_norms

@graded("layer_grad_norms", points=2, hint="the Frobenius norm of an array is sqrt(sum(g**2)) over "
        "all its elements, whatever its shape: one number per array, in the list's order")
@given(grads=gradient_lists)
def test_layer_grad_norms_equals_reference(diagnostics, grads):
    """layer_grad_norms equals the PyTorch reference on lists of arrays of any shapes"""
    assert_close(norms_of(diagnostics, grads), ref.layer_grad_norms(grads), "layer_grad_norms(grads)")


@st.composite
def poisoned_gradient_lists(draw):
    """(grads, i, bad): gradient lists whose array i holds one NaN, inf or -inf."""
    grads = draw(gradient_lists)
    i = draw(st.integers(0, len(grads) - 1), label="array")
    bad = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    grads[i].flat[draw(st.integers(0, grads[i].size - 1), label="element")] = bad
    return grads, i, bad


@graded("layer_grad_norms", points=1, hint="do not filter or replace NaN and inf (no np.nansum, "
        "no np.nan_to_num): a non-finite norm is exactly what diagnose must see")
@given(case=poisoned_gradient_lists())
def test_layer_grad_norms_keeps_non_finite_values(diagnostics, case):
    """an array holding NaN has norm NaN, one holding +-inf has norm inf; the others are unaffected"""
    grads, i, bad = case
    assert_close(norms_of(diagnostics, grads), ref.layer_grad_norms(grads),
                 f"layer_grad_norms with {bad} in array {i}")


@graded("layer_grad_norms", points=1, hint="an all-zero gradient has norm 0.0, and the result "
        "is a 1-D float array with one entry per array", counts_with="layer_grad_norms")
@given(shape_list=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=5))
def test_layer_grad_norms_of_zeros(diagnostics, shape_list):
    """zero gradients have norm 0 in a 1-D array of one entry per layer"""
    grads = [np.zeros(shape) for shape in shape_list]
    assert_close(norms_of(diagnostics, grads), np.zeros(len(grads)), "layer_grad_norms(zero gradients)")


@graded("layer_grad_norms", points=1, hint="compute norms into a new array; never square the "
        "gradients in place (`g **= 2`)", counts_with="layer_grad_norms")
@given(grads=gradient_lists)
def test_layer_grad_norms_leaves_input_untouched(diagnostics, grads):
    """layer_grad_norms leaves the gradients untouched"""
    before = [g.copy() for g in grads]
    as_array(diagnostics.layer_grad_norms(grads), "layer_grad_norms(grads)", (len(grads),))
    for i, (b, g) in enumerate(zip(before, grads)):
        assert_unchanged(b, g, f"layer_grad_norms (grads[{i}])")


# ------------------------------------------------------------------ diagnose

@st.composite
def norms_and_vanish_ratio(draw):
    """(norms, vanish_ratio), never with first / last right at vanish_ratio, where
    first / last < r and first < r * last may round differently."""
    norms, ratio = draw(norm_arrays), draw(st.floats(1e-6, 1.0))
    first, last = norms[0], norms[-1]
    with np.errstate(over="ignore"):  # a huge first over a tiny last overflows: not close
        assume(not (np.isfinite([first, last]).all() and last > 0
                    and math.isclose(first / last, ratio, rel_tol=1e-9)))
    return norms, ratio


@graded("diagnose", points=3, hint="check in the contract's order: any NaN, inf or norm above "
        "explode_threshold -> exploding; else last norm 0 or first / last < vanish_ratio -> "
        "vanishing; else healthy")
@given(case=norms_and_vanish_ratio(), explode_threshold=st.floats(1.0, 1e6))
def test_diagnose_equals_reference(diagnostics, case, explode_threshold):
    """diagnose equals the reference on random norms, NaN, inf and 0 included, and any thresholds"""
    norms, vanish_ratio = case
    want = ref.diagnose(norms, vanish_ratio, explode_threshold)
    got = verdict_of(diagnostics, norms, vanish_ratio, explode_threshold)
    assert got == want, (f"diagnose({norms!r}, vanish_ratio={vanish_ratio!r}, "
                         f"explode_threshold={explode_threshold!r}) returned {got!r}, expected {want!r}")


@st.composite
def norms_around_vanish_ratio(draw):
    """Finite norms of at most 1e3 whose first / last is within a factor 100 of the default
    vanish_ratio 1e-3, never within rounding of it."""
    last = draw(st.floats(1e-3, 1e3), label="last")
    ratio = VANISH_RATIO * 10.0 ** draw(st.floats(-2.0, 2.0), label="log10(first / last / 1e-3)")
    norms = np.array([last * ratio, *draw(st.lists(st.floats(0.0, 1e3), max_size=6), label="middle"), last])
    assume(not math.isclose(norms[0] / norms[-1], VANISH_RATIO, rel_tol=1e-9))
    return norms


@graded("diagnose", points=1, hint="check the default of vanish_ratio: the contract's is 1e-3 "
        "(vanishing when the first layer's norm is below a thousandth of the last one's)")
@given(norms=norms_around_vanish_ratio(), explode_threshold=st.floats(1e3, 1e6))
def test_diagnose_default_vanish_ratio(diagnostics, norms, explode_threshold):
    """diagnose called without vanish_ratio uses the contract's default, 1e-3"""
    want = ref.diagnose(norms, VANISH_RATIO, explode_threshold)
    got = verdict_of(diagnostics, norms, explode_threshold=explode_threshold)
    assert got == want, (f"diagnose({norms!r}, explode_threshold={explode_threshold!r}) returned "
                         f"{got!r}, expected {want!r} (first / last = {norms[0] / norms[-1]:.4g})")


@st.composite
def norms_around_explode_threshold(draw):
    """(norms, vanish_ratio): 1 to 8 norms within a factor 100 of the default explode_threshold
    1e3, and a vanish_ratio that first / last is never within rounding of."""
    exponents = draw(st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=8), label="log10(norm / 1e3)")
    norms = EXPLODE_THRESHOLD * 10.0 ** np.array(exponents)
    ratio = draw(st.floats(1e-6, 1.0), label="vanish_ratio")
    assume(not math.isclose(norms[0] / norms[-1], ratio, rel_tol=1e-9))
    return norms, ratio


@graded("diagnose", points=1, hint="check the default of explode_threshold: the contract's is 1e3 "
        "(exploding when any norm is above a thousand)")
@given(case=norms_around_explode_threshold())
def test_diagnose_default_explode_threshold(diagnostics, case):
    """diagnose called without explode_threshold uses the contract's default, 1e3"""
    norms, vanish_ratio = case
    want = ref.diagnose(norms, vanish_ratio, EXPLODE_THRESHOLD)
    got = verdict_of(diagnostics, norms, vanish_ratio=vanish_ratio)
    assert got == want, (f"diagnose({norms!r}, vanish_ratio={vanish_ratio!r}) returned {got!r}, "
                         f"expected {want!r} (largest norm {norms.max()!r})")


def check_cases(module, cases, want):
    for values, kwargs in cases:
        norms = np.array(values)
        got = verdict_of(module, norms, *kwargs)
        called = f"diagnose({norms!r}{''.join(f', {v!r}' for v in kwargs)})"
        assert got == want, f"{called} returned {got!r}, expected {want!r}"


@graded("diagnose", points=2, hint="any NaN, inf or norm above explode_threshold means exploding, "
        "and that check comes before the vanishing one; NaN > x is False, so test np.isfinite",
        counts_with="diagnose")
def test_diagnose_exploding_cases(diagnostics):
    """NaN, inf or a norm above explode_threshold is exploding, even when the first norm is tiny"""
    check_cases(diagnostics, [
        ([1.0, math.nan, 1.0], ()),
        ([math.nan, 1.0], ()),
        ([1.0, 2.0, math.inf], ()),
        ([1.0, 1000.5, 1.0], ()),
        ([1.0, 3.0, 1.0], (1e-3, 2.0)),
        ([1e-9, 1.0, 1e4], ()),
        ([1e-9, math.nan, 1.0], ()),
        ([0.0, math.inf, 0.0], ()),
    ], "exploding")


@graded("diagnose", points=2, hint="vanishing compares the first layer's norm with the last's: "
        "first / last < vanish_ratio (not last / first), or a last norm of exactly 0",
        counts_with="diagnose")
def test_diagnose_vanishing_cases(diagnostics):
    """a last norm of 0 (all zeros included) or first / last below vanish_ratio is vanishing"""
    check_cases(diagnostics, [
        ([1.0, 0.5, 0.0], ()),
        ([0.0, 0.0, 0.0], ()),
        ([0.0], ()),
        ([0.0, 1.0], ()),
        ([1e-6, 0.1, 1.0], ()),
        ([0.25, 7.0, 1.0000001], (0.25,)),
    ], "vanishing")


@graded("diagnose", points=1, hint="both comparisons are strict: a norm equal to explode_threshold "
        "is not above it, a ratio equal to vanish_ratio is not below it", counts_with="diagnose")
def test_diagnose_healthy_cases(diagnostics):
    """norms at the thresholds, or shrinking towards the output, are healthy"""
    check_cases(diagnostics, [
        ([1.0, 1000.0, 1.0], ()),
        ([1.0, 0.1, 1e-6], ()),
        ([0.25, 7.0, 1.0], (0.25,)),
        ([5.0], ()),
        ([0.5, 2.0, 1.0], (0.5, 2.0)),
    ], "healthy")


# -------------------------------------------------------- dead_relu_fraction

def preactivation_shapes(min_rows=1):
    return st.tuples(st.integers(min_rows, 6), st.integers(1, 6))


@st.composite
def preactivations(draw):
    """(N, H) pre-activations in which some columns are forced to be <= 0 (dead units)."""
    z = draw(hnp.arrays(np.float64, draw(preactivation_shapes()), elements=floats(10.0)))
    dead = draw(hnp.arrays(np.bool_, z.shape[1]), label="forced dead")
    z[:, dead] = -np.abs(z[:, dead])
    return z


@graded("dead_relu_fraction", points=2, hint="a unit is dead when its column is <= 0 on every "
        "row: np.all(z <= 0, axis=0), then the mean over the H units")
@given(z=preactivations())
def test_dead_relu_fraction_equals_reference(diagnostics, z):
    """dead_relu_fraction equals the PyTorch reference on random pre-activations"""
    assert_close(fraction_of(diagnostics, z), ref.dead_relu_fraction(z), f"dead_relu_fraction({z!r})")


@graded("dead_relu_fraction", points=1, hint="relu(0) = 0 and relu'(0) = 0 here: a unit whose "
        "pre-activation is exactly 0 is dead too, so test `<= 0`, not `< 0`")
@given(z=hnp.arrays(np.float64, preactivation_shapes(), elements=floats(5.0)).map(lambda z: np.minimum(z, 0.0)))
@example(z=np.zeros((3, 2)))
def test_zero_preactivation_counts_as_dead(diagnostics, z):
    """units that are <= 0 on every example, exact zeros included, are all dead: fraction 1"""
    assert_close(fraction_of(diagnostics, z), 1.0, f"dead_relu_fraction({z!r})")


@st.composite
def partly_alive_preactivations(draw):
    """(z, alive): negative pre-activations where `alive` units are positive on one example each."""
    n, h = draw(preactivation_shapes(min_rows=2))
    z = -1.0 - draw(hnp.arrays(np.float64, (n, h), elements=st.floats(0.0, 5.0)), label="z")
    alive = draw(st.lists(st.integers(0, h - 1), min_size=1, unique=True), label="alive units")
    for unit in alive:
        z[draw(st.integers(0, n - 1), label=f"row of unit {unit}"), unit] = 1.0
    return z, len(alive)


@graded("dead_relu_fraction", points=1, hint="the fraction is over the H units (columns), and a "
        "unit active on a single example is alive: not the share of negative entries, not a "
        "fraction of examples, not np.any")
@given(case=partly_alive_preactivations())
def test_fraction_is_over_units(diagnostics, case):
    """a unit positive on just one example is alive; the fraction counts units, not examples"""
    z, alive = case
    h = z.shape[1]
    assert_close(fraction_of(diagnostics, z), (h - alive) / h, f"dead_relu_fraction({z!r})")


@graded("dead_relu_fraction", points=1, hint="compare into a new boolean array (`z <= 0`); "
        "never clip z in place", counts_with="dead_relu_fraction")
@given(z=preactivations())
def test_dead_relu_fraction_leaves_input_untouched(diagnostics, z):
    """dead_relu_fraction leaves the pre-activations untouched"""
    before = z.copy()
    as_float(diagnostics.dead_relu_fraction(z), f"dead_relu_fraction of shape {z.shape}")
    assert_unchanged(before, z, "dead_relu_fraction")


# ----------------------------------------------------- recorded training runs

RUNS = [("sigmoid_20", "vanishing"), ("identity_1.5", "exploding"), ("he_relu", "healthy")]
# Two arrays of real gradients per step would cost a torch run per test: record them once.
RECORDED = {name: ref.training_gradients(name) for name, _ in RUNS}
# A norm whose squares overflow (>= 1.34e154) is inf in the reference; a careful implementation
# may instead return the true, finite value, and either is accepted.
OVERFLOW = 1.3e154


@pytest.mark.parametrize("network", [name for name, _ in RUNS])
@graded("layer_grad_norms", points=1, hint="one Frobenius norm per weight gradient, first layer "
        "first, NaN and inf kept as they are", counts_with="layer_grad_norms")
def test_layer_grad_norms_of_a_training_run(diagnostics, network):
    """layer_grad_norms equals the reference on every step of the {network} training run"""
    for step, grads in enumerate(RECORDED[network]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the exploding run does overflow
            got = norms_of(diagnostics, grads)
        want = ref.layer_grad_norms(grads)
        overflow = np.isposinf(want) & ((got >= OVERFLOW) | np.isposinf(got))
        assert_close(np.where(overflow, want, got), want, f"layer_grad_norms at step {step} of {network}")


@pytest.mark.parametrize("network, verdict", RUNS)
@graded("diagnose", points=2, hint="the {network} network's gradients are {verdict}: compare "
        "your decision rule with the contract's, in its order", counts_with="diagnose")
def test_diagnose_a_training_run(diagnostics, network, verdict):
    """diagnose calls every step of the {network} training run {verdict}"""
    for step, grads in enumerate(RECORDED[network]):
        norms = ref.layer_grad_norms(grads)
        got = verdict_of(diagnostics, norms)
        assert got == verdict, (f"diagnose gave {got!r} at step {step} of {network}, expected {verdict!r}; "
                                f"norms first to last: {np.array2string(norms, precision=3)}")


@pytest.mark.parametrize("bias", [0.0, -3.0, -10.0])
@graded("dead_relu_fraction", points=1, hint="count the units (columns) that are <= 0 on every "
        "example (row), and divide by the number of units", counts_with="dead_relu_fraction")
def test_dead_units_after_training(diagnostics, bias):
    """dead_relu_fraction counts the dead units of a ReLU layer trained from bias {bias}"""
    z = ref.relu_preactivations(bias)
    assert_close(fraction_of(diagnostics, z), ref.dead_relu_fraction(z),
                 f"dead_relu_fraction of the layer trained from bias {bias}")
