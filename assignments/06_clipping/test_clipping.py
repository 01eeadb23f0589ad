"""Public tests for 06 gradient clipping: properties of the three clipping rules over lists of
arrays of random shapes and scales, the PyTorch reference, and a deep network whose training
explodes without clipping and converges with it."""
import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.grading.checks import (as_array, as_float, assert_at_most, assert_close, assert_finite,
                                       assert_unchanged)
from autograder.grading.strategies import shapes
from autograder.grading.testing import graded, student_module
from reference import clipping as ref

clipping = student_module("clipping")

CLIPPERS = ["clip_by_value", "clip_by_norm", "clip_by_global_norm"]
thresholds = st.floats(0.01, 100.0)
# Subnormal elements would make a norm underflow to 0 in one summation order and not in another.
unit_floats = st.floats(-1.0, 1.0, allow_subnormal=False)


@st.composite
def gradient_lists(draw, elements=unit_floats):
    """1 to 4 arrays of any shapes (0-d included), all scaled by one power of ten in 1e-3..1e3."""
    arrays = draw(st.lists(hnp.arrays(np.float64, shapes(min_dims=0, max_dims=3, max_side=4),
                                      elements=elements), min_size=1, max_size=4))
    scale = 10.0 ** draw(st.integers(-3, 3), label="log10 scale")
    return [np.array(scale * a) for a in arrays]  # np.array: keeps a 0-d array an array


def norm(g) -> float:
    return float(np.sqrt(np.sum(np.square(g))))


def copies(grads):
    """What the student's function is handed: copies, so that a function writing into its
    input loses points only on test_inputs_are_left_untouched."""
    return [g.copy() for g in grads]


def as_list(got, grads, what):
    """The returned gradients: a list (or tuple) of arrays of the inputs' shapes."""
    assert isinstance(got, (list, tuple)), f"{what} returned {type(got).__name__}, expected a list of arrays"
    assert len(got) == len(grads), f"{what} returned {len(got)} arrays for {len(grads)} gradients"
    return [as_array(c, f"{what}[{i}]", g.shape) for i, (c, g) in enumerate(zip(got, grads))]


def returned(function, got, grads):
    """What `function` returned for `grads`, checked for the contract's form: global_norm's
    float, clip_by_global_norm's (clipped, norm) pair, or the other clippers' list."""
    if function == "global_norm":
        return as_float(got, "global_norm(grads)")
    if function == "clip_by_global_norm":
        assert isinstance(got, (tuple, list)) and len(got) == 2, \
            f"{function} returned {type(got).__name__}, expected a tuple (clipped, norm)"
        return as_list(got[0], grads, function), as_float(got[1], f"{function}'s norm")
    return as_list(got, grads, function)


def global_clip(module, grads, max_norm):
    return returned("clip_by_global_norm", module.clip_by_global_norm(copies(grads), max_norm), grads)


def call(module, function, grads, threshold):
    """The clipped list, whichever of the three clipping functions is called."""
    got = returned(function, getattr(module, function)(copies(grads), threshold), grads)
    return got[0] if function == "clip_by_global_norm" else got


def assert_all_close(got, want, what, **tolerance):
    for i, (c, w) in enumerate(zip(got, want)):
        assert_close(c, w, f"{what}[{i}]", **tolerance)


# ---------------------------------------------------------------- clip_by_value

@graded("clip_by_value", points=2, hint="np.clip(g, -clip_value, clip_value) on every array of "
        "the list, returning a new list")
@given(grads=gradient_lists(), clip_value=thresholds)
def test_clip_by_value_equals_reference(clipping, grads, clip_value):
    """clip_by_value equals the PyTorch reference (torch.clamp) on lists of random arrays"""
    got = call(clipping, "clip_by_value", grads, clip_value)
    assert_all_close(got, ref.clip_by_value(grads, clip_value), "clip_by_value(grads)")


@graded("clip_by_value", points=1, hint="clip both sides: the lower bound is -clip_value",
        counts_with="clip_by_value")
@given(grads=gradient_lists(), clip_value=thresholds)
def test_clip_by_value_bounds_every_element(clipping, grads, clip_value):
    """every element clip_by_value returns lies in [-clip_value, clip_value]"""
    for i, c in enumerate(call(clipping, "clip_by_value", grads, clip_value)):
        assert_at_most(float(np.max(np.abs(c), initial=0.0)), clip_value,
                       f"the largest |element| of clip_by_value(grads, {clip_value!r})[{i}]")


# ------------------------------------------------------------ clip_by_norm

@graded("clip_by_norm", points=2, hint="scale each array by min(1, max_norm / ||g||) with ||g|| "
        "the array's own L2 norm over all its elements (not the global norm, not max |g|)")
@given(grads=gradient_lists(), max_norm=thresholds)
def test_clip_by_norm_equals_reference(clipping, grads, max_norm):
    """clip_by_norm equals the PyTorch reference on lists of random arrays"""
    got = call(clipping, "clip_by_norm", grads, max_norm)
    assert_all_close(got, ref.clip_by_norm(grads, max_norm), "clip_by_norm(grads)")


@graded("clip_by_norm", points=1, hint="the scale is max_norm / ||g|| when ||g|| > max_norm: "
        "check that the ratio is not inverted", counts_with="clip_by_norm")
@given(grads=gradient_lists(), max_norm=thresholds)
def test_clip_by_norm_bounds_every_norm(clipping, grads, max_norm):
    """every array clip_by_norm returns has an L2 norm of at most max_norm"""
    for i, c in enumerate(call(clipping, "clip_by_norm", grads, max_norm)):
        assert_at_most(norm(c), max_norm, f"the norm of clip_by_norm(grads, {max_norm!r})[{i}]")


@graded("clip_by_norm", points=1, hint="multiply the whole array by one number: clipping the "
        "elements one by one changes the gradient's direction", counts_with="clip_by_norm")
@given(grads=gradient_lists(), max_norm=thresholds)
def test_clip_by_norm_preserves_direction(clipping, grads, max_norm):
    """clip_by_norm scales each array by a factor in (0, 1]: its direction is kept"""
    for i, (c, g) in enumerate(zip(call(clipping, "clip_by_norm", grads, max_norm), grads)):
        if norm(g) > 0:
            factor = norm(c) / norm(g)
            assert factor > 0, f"clip_by_norm scaled array {i} by {factor!r}, expected (0, 1]"
            assert_at_most(factor, 1.0, f"the factor clip_by_norm scaled array {i} by")
            assert_close(c, factor * g, f"clip_by_norm(grads)[{i}], compared with a scaled copy of grads[{i}]")


# -------------------------------------------------------------- global_norm

@graded("global_norm", points=2, hint="the global norm is sqrt of the sum of every array's "
        "squared norm, not the sum of the norms; return a float")
@given(grads=gradient_lists())
@example(grads=[np.array([3.0]), np.array([[4.0, 0.0]])])
def test_global_norm_equals_reference(clipping, grads):
    """global_norm equals sqrt(sum of ||g||**2) of the PyTorch reference, as a float"""
    got = returned("global_norm", clipping.global_norm(copies(grads)), grads)
    assert_close(got, ref.global_norm(grads), "global_norm(grads)")


# ----------------------------------------------------- clip_by_global_norm

# Arrays of norms 5 and 0.5 over a threshold of 1: one common factor and one factor per
# array (clip_by_norm's) give different answers.
TWO_NORMS = [np.array([3.0, 4.0]), np.array([0.5])]


@graded("clip_by_global_norm", points=2, hint="one scale for all arrays, min(1, max_norm / norm) "
        "with norm = global_norm(grads); return (clipped, norm)")
@given(grads=gradient_lists(), max_norm=thresholds)
@example(grads=TWO_NORMS, max_norm=1.0)
def test_clip_by_global_norm_equals_reference(clipping, grads, max_norm):
    """clip_by_global_norm's arrays and norm equal the PyTorch reference"""
    got, got_norm = global_clip(clipping, grads, max_norm)
    want, want_norm = ref.clip_by_global_norm(grads, max_norm)
    assert_all_close(got, want, "clip_by_global_norm(grads)[0]")
    assert_close(got_norm, want_norm, "clip_by_global_norm(grads)[1], the norm")


@graded("clip_by_global_norm", points=1, hint="the scale is max_norm / norm when norm > max_norm: "
        "check that the ratio is not inverted", counts_with="clip_by_global_norm")
@given(grads=gradient_lists(), max_norm=thresholds)
def test_clip_by_global_norm_bounds_the_global_norm(clipping, grads, max_norm):
    """the arrays clip_by_global_norm returns have a global norm of at most max_norm"""
    clipped, _ = global_clip(clipping, grads, max_norm)
    total = math.sqrt(sum(norm(c) ** 2 for c in clipped))
    assert_at_most(total, max_norm, f"the global norm of clip_by_global_norm(grads, {max_norm!r})[0]")


@graded("clip_by_global_norm", points=2, hint="clip with the global norm, one factor for every "
        "array: clipping each array by its own norm (that is clip_by_norm) bends the gradient",
        counts_with="clip_by_global_norm")
@given(grads=gradient_lists(), max_norm=thresholds)
@example(grads=TWO_NORMS, max_norm=1.0)
def test_clip_by_global_norm_preserves_direction(clipping, grads, max_norm):
    """clip_by_global_norm scales all arrays by one common factor in (0, 1]"""
    clipped, _ = global_clip(clipping, grads, max_norm)
    before = math.sqrt(sum(norm(g) ** 2 for g in grads))
    if before > 0:
        factor = math.sqrt(sum(norm(c) ** 2 for c in clipped)) / before
        assert factor > 0, f"clip_by_global_norm scaled the gradients by {factor!r}, expected (0, 1]"
        assert_at_most(factor, 1.0, "the common factor clip_by_global_norm scaled the gradients by")
        for i, (c, g) in enumerate(zip(clipped, grads)):
            assert_close(c, factor * g, f"clip_by_global_norm(grads)[0][{i}], compared with "
                         f"grads[{i}] scaled by the common factor {factor:.6g}")


@graded("clip_by_global_norm", points=2, hint="return the norm measured before clipping (what "
        "clip_grad_norm_ returns, and what a training log needs), not the norm after it")
@given(grads=gradient_lists(), max_norm=thresholds)
def test_clip_by_global_norm_returns_norm_before_clipping(clipping, grads, max_norm):
    """the norm clip_by_global_norm returns is the global norm before clipping"""
    _, got = global_clip(clipping, grads, max_norm)
    assert_close(got, math.sqrt(sum(norm(g) ** 2 for g in grads)), "clip_by_global_norm(grads)[1]")


@st.composite
def poisoned_gradient_lists(draw):
    """Gradient lists with one element replaced by NaN, inf or -inf."""
    grads = draw(gradient_lists())
    i = draw(st.integers(0, len(grads) - 1), label="array")
    j = draw(st.integers(0, grads[i].size - 1), label="element")
    grads[i].flat[j] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return grads


@graded("clip_by_global_norm", points=2, hint="check the norm with np.isfinite before scaling "
        "and raise FloatingPointError: a NaN step would poison every weight",
        counts_with="clip_by_global_norm")
@given(grads=poisoned_gradient_lists())
def test_clip_by_global_norm_refuses_non_finite_norm(clipping, grads):
    """clip_by_global_norm raises FloatingPointError when a gradient holds NaN or infinity"""
    with pytest.raises(FloatingPointError):
        clipping.clip_by_global_norm(grads, 1.0)


# ------------------------------------------------------ shared by all three

def within(function, grads):
    """A threshold that the gradients already satisfy, as `function` measures them."""
    if function == "clip_by_value":
        return max(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    if function == "clip_by_norm":
        return max(norm(g) for g in grads)
    return math.sqrt(sum(norm(g) ** 2 for g in grads))


@pytest.mark.parametrize("function", CLIPPERS)
@graded("{function}", points=1, hint="clip only what exceeds the threshold: gradients within it "
        "must come back as they are (scale min(1, ...), never max_norm / norm alone)",
        counts_with="{function}")
@given(grads=gradient_lists(), margin=st.floats(1.0, 10.0))
def test_within_threshold_is_unchanged(clipping, function, grads, margin):
    """{function} returns gradients already within its threshold unchanged"""
    threshold = max(within(function, grads) * margin, 1e-3)
    got = call(clipping, function, grads, threshold)
    assert_all_close(got, grads, f"{function}(grads, {threshold!r})")


@pytest.mark.parametrize("function", CLIPPERS)
@graded("{function}", points=1, hint="clipped gradients are within the threshold, so clipping "
        "them again must change nothing", counts_with="{function}")
@given(grads=gradient_lists(), threshold=thresholds)
def test_clipping_is_idempotent(clipping, function, grads, threshold):
    """{function} applied twice gives what it gives once"""
    once = call(clipping, function, grads, threshold)
    twice = call(clipping, function, once, threshold)
    assert_all_close(twice, once, f"{function} applied to its own result")


@pytest.mark.parametrize("function", ["clip_by_norm", "clip_by_global_norm"])
@graded("{function}", points=1, hint="a zero gradient has norm 0: max_norm / 0 and 0 / 0 give "
        "inf and NaN, so treat norm 0 as 'nothing to clip'", counts_with="{function}")
@given(shape_list=st.lists(shapes(min_dims=0, max_dims=3, max_side=4), min_size=1, max_size=4),
       threshold=thresholds)
def test_zero_gradients_give_zeros(clipping, function, shape_list, threshold):
    """{function} turns zero gradients into zeros, not NaN"""
    grads = [np.zeros(shape) for shape in shape_list]
    if function == "clip_by_global_norm":
        got, got_norm = global_clip(clipping, grads, threshold)
        assert_close(got_norm, 0.0, "clip_by_global_norm(zero gradients)[1], the norm")
    else:
        got = call(clipping, function, grads, threshold)
    for i, c in enumerate(got):
        assert_finite(c, f"{function}(zero gradients)[{i}]")
    assert_all_close(got, grads, f"{function}(zero gradients)")


@pytest.mark.parametrize("function", CLIPPERS + ["global_norm"])
@graded("{function}", points=1, hint="return new arrays (`g * scale`, np.clip without out=): "
        "`g *= scale` or `g **= 2` rewrites the caller's gradients", counts_with="{function}")
@given(grads=gradient_lists(), threshold=thresholds)
def test_inputs_are_left_untouched(clipping, function, grads, threshold):
    """{function} leaves the list of gradients and its arrays untouched"""
    before = copies(grads)
    got = getattr(clipping, function)(grads, *([threshold] if function in CLIPPERS else []))
    returned(function, got, before)
    assert len(grads) == len(before), f"{function} changed the length of the list it was given"
    for i, (b, g) in enumerate(zip(before, grads)):
        assert_unchanged(b, g, f"{function} (grads[{i}])")


def read_only(grads):
    """Copies that nothing can write into: an array handed back from them is read-only too."""
    frozen = copies(grads)
    for g in frozen:
        g.flags.writeable = False
    return frozen


@pytest.mark.parametrize("function", CLIPPERS)
@graded("{function}", points=1, hint="return a new array for every gradient, also when nothing "
        "is clipped (`g.copy()` or `g * 1.0`, not `g` itself): a caller that updates the clipped "
        "gradients in place would otherwise rewrite its own", counts_with="{function}")
@given(grads=gradient_lists(), threshold=thresholds)
def test_returns_new_arrays(clipping, function, grads, threshold):
    """{function} returns new arrays, never the caller's own arrays or views of them"""
    given_arrays = read_only(grads)
    got = returned(function, getattr(clipping, function)(given_arrays, threshold), grads)
    for i, (c, g) in enumerate(zip(got[0] if function == "clip_by_global_norm" else got, given_arrays)):
        assert c.flags.writeable and not np.shares_memory(c, g), (
            f"{function}(grads, {threshold!r}) returned grads[{i}] itself (or a view of it), "
            "not a new array")


@pytest.mark.parametrize("function", CLIPPERS)
@graded("{function}", points=1, hint="check the threshold first: `if not threshold > 0: raise "
        "ValueError(...)` (0 is not a valid threshold either)", counts_with="{function}")
@given(grads=gradient_lists(), threshold=st.floats(max_value=0.0, allow_nan=False))
@example(grads=[np.ones(3)], threshold=0.0)
def test_threshold_must_be_positive(clipping, function, grads, threshold):
    """{function} raises ValueError for a threshold that is 0 or negative"""
    with pytest.raises(ValueError):
        getattr(clipping, function)(grads, threshold)


# ---------------------------------------------------------------- the cure

@graded("clip_by_global_norm", points=4, hint="with min(1, max_norm / norm) every update has a "
        "norm of at most lr * max_norm, so training cannot blow up; a larger step means the "
        "scale is inverted or not applied to every array", counts_with="clip_by_global_norm")
def test_clipping_tames_an_exploding_network(clipping):
    """clip_by_global_norm lets a deep network train whose loss explodes without clipping"""
    def clip(grads):
        return global_clip(clipping, grads, 0.5)[0]

    unclipped = ref.train_deep_network()
    assert not math.isfinite(unclipped[-1]) or unclipped[-1] > 1e6 * unclipped[0], \
        "the test's own unclipped run did not explode"
    losses = ref.train_deep_network(clip=clip)
    assert all(map(math.isfinite, losses)), f"the loss became {losses[-1]!r} with your clipping"
    # With a step this large, clipped training ends up oscillating a little around a low loss,
    # and rounding-level differences move where: judge the mean of the last 10 losses. Runs
    # perturbed by relative noise from 1e-15 to 1e-4 on every step (60 runs) all stay below 0.12x.
    final = sum(losses[-10:]) / 10
    assert final < 0.25 * losses[0], (
        f"with your clip_by_global_norm(grads, 0.5) the loss went from {losses[0]:.4g} to "
        f"{final:.4g} (mean of the last 10 of {len(losses)} steps), expected below "
        f"{0.25 * losses[0]:.4g}; without clipping it reaches {unclipped[-1]:.3g}")
