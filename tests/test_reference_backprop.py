"""The 02 oracle agrees with torch.nn layers and reproduces the course notes' example."""
import numpy as np
import torch

from reference import backprop as ref


def test_mlp_gradients_equal_torch_nn():
    rng = np.random.default_rng(0)
    sizes = [3, 5, 4, 2]
    params = [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in zip(sizes, sizes[1:])]
    x, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    layers = []
    for W, b in params:
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W.T))
            linear.bias.copy_(torch.tensor(b))
        layers += [linear, torch.nn.Tanh()]
    net = torch.nn.Sequential(*layers)
    out = net(torch.tensor(x))
    loss = 0.5 * torch.nn.functional.mse_loss(out, torch.tensor(target), reduction="sum") / 6
    loss.backward()
    want_out, (want_loss, dpred) = ref.mlp_forward(x, params, "tanh"), ref.mse_loss(out.detach().numpy(), target)
    np.testing.assert_allclose(want_out, out.detach().numpy(), rtol=1e-12)
    assert abs(want_loss - loss.item()) < 1e-12
    grads = ref.mlp_grads(x, params, dpred, "tanh")
    for (dW, db), linear in zip(grads, [m for m in net if isinstance(m, torch.nn.Linear)]):
        np.testing.assert_allclose(dW, linear.weight.grad.numpy().T, rtol=1e-10)
        np.testing.assert_allclose(db, linear.bias.grad.numpy(), rtol=1e-10)


def test_worked_example_of_the_course_notes():
    """x0 = 1, three sigmoid neurons, weights 0.5, target 0.8: the numbers the handout prints."""
    params = [(np.array([[0.5]]), np.zeros(1))] * 3
    x = np.array([[1.0]])
    outputs = [ref.mlp_forward(x, params[:depth]).item() for depth in (1, 2, 3)]
    np.testing.assert_allclose(outputs, [0.6225, 0.5772, 0.5716], atol=1e-4)
    loss, dpred = ref.mse_loss(ref.mlp_forward(x, params), np.array([[0.8]]))
    assert abs(loss - 0.0261) < 1e-4
    grads = ref.mlp_grads(x, params, dpred)
    np.testing.assert_allclose([dW.item() for dW, _ in grads], [-0.0008, -0.0042, -0.0323], atol=1e-4)
    new = ref.sgd_step(params, grads, 0.1)
    np.testing.assert_allclose([W.item() for W, _ in new], [0.5001, 0.5004, 0.5032], atol=1e-4)
