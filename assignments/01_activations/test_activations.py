"""Public tests for 01 activations: each function against the PyTorch oracle and the math."""
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.grading.checks import (as_array, assert_at_most, assert_close, assert_finite,
                                       assert_unchanged)
from autograder.grading.strategies import arrays
from autograder.grading.testing import graded, student_module
from reference import activations as ref

activations = student_module("activations")

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu"]
EVERY_FUNCTION = NAMES + [f"{name}_grad" for name in NAMES]
# The functions taking alpha, and the contract's default alpha of each.
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}
WITH_ALPHA = set(DEFAULT_ALPHA)
WITH_DEFAULT = [name + suffix for name in DEFAULT_ALPHA for suffix in ("", "_grad")]
# Where the derivative has a kink at 0, the contract accepts either one-sided value there.
AT_ZERO = {"relu_grad": lambda alpha: (0.0, 1.0), "leaky_relu_grad": lambda alpha: (alpha, 1.0)}
alphas = st.floats(0.01, 2.0)


def call(module, name, x, alpha):
    """The student's and the reference's value; the student gets a copy of x, so that a
    function writing into its input fails only the test about inputs."""
    args = (alpha,) if name.removesuffix("_grad") in WITH_ALPHA else ()
    return getattr(module, name)(x.copy(), *args), getattr(ref, name)(x, *args)


def either_side_at_zero(name, x, got, want, alpha):
    """`want` with the student's value kept where x == 0 and the contract accepts it."""
    if name not in AT_ZERO:
        return want
    return np.where((x == 0) & np.isin(got, AT_ZERO[name](alpha)), got, want)


@pytest.mark.parametrize("name", NAMES)
@graded("{name}", points=2, hint="write {name} straight from its formula in the handout; "
        "check which side of 0 each branch covers and where alpha multiplies")
@given(x=arrays(bound=50), alpha=alphas)
def test_value_equals_reference(activations, name, x, alpha):
    """{name}(x) equals the PyTorch reference on arrays of any shape"""
    got, want = call(activations, name, x, alpha)
    assert_close(got, want, f"{name}(x)")


@pytest.mark.parametrize("name", [f"{name}_grad" for name in NAMES])
@graded("{name}", points=2, hint="differentiate the activation by hand; for the kinked ones, "
        "the two sides of 0 have different slopes")
@given(x=arrays(bound=50), alpha=alphas)
@example(x=np.array([-2.0, -0.5, 0.5, 2.0]), alpha=0.01)
def test_derivative_equals_autograd(activations, name, x, alpha):
    """{name}(x) equals autograd's derivative on arrays of any shape"""
    got, want = call(activations, name, x, alpha)
    got = as_array(got, f"{name}(x)", x.shape)
    assert_close(got, either_side_at_zero(name, x, got, want, alpha), f"{name}(x)")


@pytest.mark.parametrize("name", WITH_DEFAULT)
@graded("{name}", points=1, hint="check the default of alpha in {name}'s signature: the handout "
        "gives alpha=0.01 for leaky_relu and its derivative, alpha=1.0 for elu and its derivative")
@given(x=arrays(bound=50))
@example(x=np.array([-2.0, -0.5, 0.5, 2.0]))
def test_default_alpha_is_the_contracts(activations, name, x):
    """{name}(x) called without alpha equals the reference at the contract's default alpha"""
    alpha = DEFAULT_ALPHA[name.removesuffix("_grad")]
    got = as_array(getattr(activations, name)(x.copy()), f"{name}(x)", x.shape)
    # The default passed explicitly, so that the reference's own default cannot hide a difference.
    want = getattr(ref, name)(x, alpha)
    assert_close(got, either_side_at_zero(name, x, got, want, alpha), f"{name}(x) without alpha")


@graded("sigmoid_grad", points=2, hint="sigmoid'(x) = s * (1 - s) with s = sigmoid(x): "
        "its largest value is 0.25, at x = 0", counts_with="sigmoid_grad")
@given(x=arrays(bound=50))
def test_sigmoid_grad_is_at_most_a_quarter(activations, x):
    """sigmoid_grad is never above 0.25 and equals 0.25 at 0"""
    got = as_array(activations.sigmoid_grad(x), "sigmoid_grad(x)", x.shape)
    assert_at_most(float(got.max()), 0.25, "the largest value of sigmoid_grad(x)")
    assert_close(activations.sigmoid_grad(np.array(0.0)), 0.25, "sigmoid_grad(0)")


@graded("tanh_grad", points=1, hint="tanh'(x) = 1 - tanh(x)**2: at most 1, equal to 1 at 0",
        counts_with="tanh_grad")
@given(x=arrays(bound=50))
def test_tanh_grad_is_at_most_one(activations, x):
    """tanh_grad is never above 1 and equals 1 at 0"""
    got = as_array(activations.tanh_grad(x), "tanh_grad(x)", x.shape)
    assert_at_most(float(got.max()), 1.0, "the largest value of tanh_grad(x)")
    assert_close(activations.tanh_grad(np.array(0.0)), 1.0, "tanh_grad(0)")


@graded("relu_grad", points=1, hint="relu'(x) is a step: 1 for x > 0, 0 for x < 0",
        counts_with="relu_grad")
@given(x=arrays(bound=50))
def test_relu_grad_is_zero_or_one(activations, x):
    """relu_grad takes only the values 0 and 1"""
    got = as_array(activations.relu_grad(x), "relu_grad(x)", x.shape)
    assert np.isin(got, (0.0, 1.0)).all(), f"relu_grad gave values other than 0 and 1: {np.unique(got)}"


EXTREMES = np.array([-1000.0, -745.0, -710.0, -100.0, -1e-300, 0.0, 1e-300, 100.0, 710.0, 745.0, 1000.0])


@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad",
                                  "elu", "elu_grad", "selu", "selu_grad"])
@graded("{name}", points=1, hint="exp overflows above 709: only ever take exp of a number <= 0 "
        "(use exp(-|x|), or np.where over the two halves with the argument clipped)")
@given(x=arrays(bound=1000))
@example(x=EXTREMES)
def test_finite_without_warnings_for_large_inputs(activations, name, x):
    """{name} is finite, correct and raises no floating-point warning for |x| up to 1000"""
    # ELU's alpha is passed explicitly: its default is the subject of another test.
    args = (DEFAULT_ALPHA["elu"],) if name.removesuffix("_grad") in WITH_ALPHA else ()
    want = getattr(ref, name)(x, *args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(activations, name)(x.copy(), *args)
    assert_finite(got, f"{name}(x)")
    assert_close(got, want, f"{name}(x)")


@pytest.mark.parametrize("name", EVERY_FUNCTION)
@graded("{name}", points=1, hint="build the result as a new array (np.where, np.maximum, "
        "arithmetic) instead of writing into x, and keep x's shape, 0-d included",
        counts_with="{name}")
@given(x=arrays(bound=10, min_dims=0))
@example(x=np.array(-1.5))
def test_keeps_shape_and_leaves_input_untouched(activations, name, x):
    """{name} returns an array of the input's shape (0-d included) and leaves x untouched"""
    before = x.copy()
    got = getattr(activations, name)(x)
    as_array(got, f"{name}(x) for x of shape {x.shape}", x.shape)
    assert_unchanged(before, x, f"{name}(x)")
