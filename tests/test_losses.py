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


def _grads(model):
    return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.parameters()]


def _exact_term(model, x, lam, tau):
    """The full-batch loss and its parameter gradients."""
    model.zero_grad(set_to_none=True)
    loss, _ = awam_loss(model, x, lam=lam, tau=tau)
    loss.backward()
    return loss.detach(), _grads(model)


@pytest.mark.parametrize("space", ["dual", "euclidean"])
def test_subsample_estimate_is_unbiased_over_all_subsets(space):
    # averaged over every subset of size 2 of 4 samples (each drawn with equal probability),
    # the estimated loss and its parameter gradients equal the full-batch ones
    model = make_flow(space).train()
    x = torch.randn(4, 2, 4, 5, dtype=torch.float64)
    exact_loss, exact_grads = _exact_term(model, x, 0.7, 0.5)
    seen = {}
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        model.zero_grad(set_to_none=True)
        loss, info = awam_loss(model, x, lam=0.7, tau=0.5, subsample=2, generator=gen)
        loss.backward()
        key = tuple(sorted(info["subset"].tolist()))
        seen[key] = (loss.detach(), _grads(model))
        if len(seen) == 6:
            break
    assert len(seen) == 6
    mean_loss = torch.stack([v[0] for v in seen.values()]).mean()
    torch.testing.assert_close(mean_loss, exact_loss)
    for i, g in enumerate(exact_grads):
        torch.testing.assert_close(torch.stack([v[1][i] for v in seen.values()]).mean(0), g)
    # and a single draw is not the full-batch value
    assert not torch.allclose(next(iter(seen.values()))[0], exact_loss)


def test_subsample_keeps_the_nll_weights_and_per_sample_norms():
    model = make_flow("dual").train()
    x = torch.randn(6, 2, 4, 5, dtype=torch.float64)
    _, full = awam_loss(model, x, lam=1.0)
    gen = torch.Generator().manual_seed(3)
    loss, info = awam_loss(model, x, lam=1.0, subsample=3, generator=gen)
    torch.testing.assert_close(info["nll"], full["nll"])
    torch.testing.assert_close(info["weights"], full["weights"])
    subset = info["subset"]
    assert subset.shape == (3,) and len(set(subset.tolist())) == 3
    torch.testing.assert_close(info["grad_norm"][subset], full["grad_norm"][subset])
    outside = torch.ones(6, dtype=torch.bool)
    outside[subset] = False
    assert torch.isnan(info["grad_norm"][outside]).all()
    expected = full["nll"].mean() + (full["weights"] * full["grad_norm"])[subset].mean()
    torch.testing.assert_close(loss.detach(), expected)
    # the same generator state draws the same subset
    _, again = awam_loss(model, x, lam=1.0, subsample=3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again["subset"], subset)


def test_subsample_at_least_the_batch_is_exact_and_bad_values_raise():
    model = make_flow("dual").train()
    x = torch.randn(4, 2, 4, 5, dtype=torch.float64)
    exact, _ = awam_loss(model, x, lam=0.5)
    same, info = awam_loss(model, x, lam=0.5, subsample=4)
    assert torch.equal(same, exact) and info["subset"] is None
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="subsample must be an integer >= 1 or None"):
            awam_loss(model, x, lam=0.5, subsample=bad)
    with pytest.raises(ValueError, match="needs a generator"):
        awam_loss(model, x, lam=0.5, subsample=2)


def test_subsample_initialises_actnorm_from_the_whole_batch():
    from pyod_dsnf.flow import DSNFlow

    def fresh():
        torch.manual_seed(0)  # test-local
        return DSNFlow(in_channels=2, n_frames=6, n_flow_steps=2, hidden_channels=4).train()

    x = torch.randn(8, 2, 6, 17) * 3 + 1
    full, split = fresh(), fresh()
    awam_loss(full, x, lam=0.1)
    awam_loss(split, x, lam=0.1, subsample=2, generator=torch.Generator().manual_seed(0))
    for (name, a), b in zip(full.state_dict().items(), split.state_dict().values(), strict=True):
        if ".actnorm." in name:
            torch.testing.assert_close(a, b, msg=name)
