"""AWAM loss: reductions, weights, gradients."""

import pytest
import torch

from pyod_dsnf.detector.losses import awam_loss, awam_weights, nll_bits_per_dim
from tests._flow_helpers import make_flow


@pytest.mark.parametrize("space", ["dual", "euclidean", "hyperbolic"])
def test_lambda_zero_is_exactly_the_nll(space):
    model = make_flow(space, dtype=torch.float32)
    x = torch.randn(6, 2, 4, 5)
    loss, info = awam_loss(model, x, lam=0.0, tau=0.5)
    assert torch.equal(loss, model.nll_bpd(x).mean())
    assert info["grad_norm"] is None
    assert torch.equal(info["nll"], model.nll_bpd(x).detach())


def test_weights_have_mean_one_no_gradient_and_favour_the_origin():
    distance = torch.tensor([0.1, 0.5, 2.0, 4.0], requires_grad=True)
    w = awam_weights(distance, 4, tau=1.0)
    assert not w.requires_grad
    assert w.mean().item() == pytest.approx(1.0)
    assert torch.all(w[:-1] > w[1:])  # closer to the origin -> larger weight
    torch.testing.assert_close(awam_weights(None, 3, 1.0), torch.ones(3))
    torch.testing.assert_close(awam_weights(distance, 4, tau=1e9), torch.ones(4))
    with pytest.raises(ValueError, match="tau must be > 0"):
        awam_weights(distance, 4, tau=0.0)


def test_uniform_weights_give_the_approximate_mass_loss():
    model = make_flow("euclidean")  # no hyperbolic branch: uniform weights
    x = torch.randn(5, 2, 4, 5, dtype=torch.float64)
    loss, info = awam_loss(model, x, lam=0.3)
    xg = x.clone().requires_grad_(True)
    nll = model.nll_bpd(xg)
    (grad,) = torch.autograd.grad(nll.sum(), xg)
    expected = nll.mean() + 0.3 * grad.flatten(1).norm(dim=1).mean()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(info["weights"], torch.ones(5, dtype=torch.float64))


def test_grad_norm_is_per_sample():
    model = make_flow("dual")
    x = torch.randn(4, 2, 4, 5, dtype=torch.float64)
    _, info = awam_loss(model, x, lam=1.0)
    for i in range(4):
        xi = x[i : i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(model.nll_bpd(xi).sum(), xi)
        assert info["grad_norm"][i].item() == pytest.approx(g.norm().item(), rel=1e-8)


@pytest.mark.parametrize("space", ["dual", "hyperbolic"])
def test_total_loss_reaches_every_parameter(space):
    model = make_flow(space, learn_curvature=True).train()
    x = torch.randn(8, 2, 4, 5, dtype=torch.float64)
    loss, info = awam_loss(model, x, lam=0.5, tau=0.5)
    assert info["distance"].shape == (8,)
    w = info["weights"]
    assert w.mean().item() == pytest.approx(1.0) and not w.requires_grad
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_nll_bits_per_dim_and_argument_errors():
    torch.testing.assert_close(
        nll_bits_per_dim(torch.tensor([-10.0]), 5), torch.tensor([10.0 / (5 * 0.6931471805599453)])
    )
    model = make_flow("euclidean")
    x = torch.randn(2, 2, 4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="lam must be a finite float >= 0"):
        awam_loss(model, x, lam=-1.0)
    with pytest.raises(ValueError, match="tau must be > 0"):
        awam_loss(model, x, lam=1.0, tau=-2.0)

