"""The 01 oracle agrees with PyTorch's built-in activations and autograd's derivatives."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from autograder.grading.strategies import arrays
from reference import activations as ref

BUILT_INS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "selu": F.selu,
}


def torch_value_and_grad(name, x):
    t = torch.tensor(x, requires_grad=True)
    out = BUILT_INS[name](t)
    out.sum().backward()
    return out.detach().numpy(), t.grad.numpy()


# A thousand times tighter than the contract's rtol=1e-6, atol=1e-9 for students: the
# oracle's own rounding can never decide a student's verdict.
TIGHT = {"rtol": 1e-9, "atol": 1e-12}


@pytest.mark.parametrize("name", sorted(BUILT_INS))
@given(x=arrays(bound=1000))
def test_reference_equals_torch_built_in(name, x):
    value, grad = torch_value_and_grad(name, x)
    np.testing.assert_allclose(getattr(ref, name)(x), value, **TIGHT)
    # PyTorch's ELU/SELU derivative at exactly 0 is taken from the x > 0 side (1 * scale);
    # ours follows the contract's `1 where x > 0 else alpha * exp(x)`: equal for ELU with
    # alpha 1, scale * alpha for SELU. Compare away from the kink.
    away = x != 0
    np.testing.assert_allclose(getattr(ref, f"{name}_grad")(x)[away], grad[away], **TIGHT)


def test_reference_takes_alpha_like_torch():
    x = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(ref.leaky_relu(x, 0.2), F.leaky_relu(torch.tensor(x), 0.2).numpy(), **TIGHT)
    np.testing.assert_allclose(ref.elu(x, 0.7), F.elu(torch.tensor(x), 0.7).numpy(), **TIGHT)


def test_reference_sigmoid_grad_peaks_at_a_quarter_and_stays_finite():
    x = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
    grad = ref.sigmoid_grad(x)
    assert grad[2] == 0.25 and np.all(grad <= 0.25) and np.isfinite(grad).all()
    assert abs(grad[3] - 0.0066) < 1e-4  # the course notes' sigma'(5)
