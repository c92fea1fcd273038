"""Training losses: negative log-likelihood and AWAM.

AWAM, the Adaptive Weighted Approximation Mass loss (see docs/method.md)::

    L = mean_i NLL_i + lam * mean_i (w_i * g_i)
    g_i = || d NLL_i / d x_i ||_2                 (double backward)
    w_i = B * softmax_i(-d_i / tau), no gradient  (mean 1)

with ``NLL_i`` in bits per dimension and ``d_i`` the mean Poincaré distance of
sample i's hyperbolic node embeddings from the origin.

The second term can be estimated on a random subset S of m of the B samples,
``lam * (1/m) * sum_{i in S} w_i g_i`` (``subsample``): S is drawn uniformly
without replacement, so the estimate and its parameter gradient are unbiased for
the full-batch term, and the double backward runs on the m samples only.
"""

from __future__ import annotations

import math

import torch

from pyod_dsnf.flow.actnorm import ActNorm
from pyod_dsnf.flow.model import DSNFlow, nll_bits_per_dim


def awam_weights(distance: torch.Tensor | None, batch_size: int, tau: float) -> torch.Tensor:
    """AWAM sample weights ``B * softmax(-d / tau)`` (uniform when ``distance`` is None).

    Samples whose hyperbolic embeddings lie near the origin (small ``d``,
    low in the learned hierarchy, least discriminable) get weights above 1.
    The weights are detached and average exactly 1.
    """
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    if distance is None:
        return torch.ones(batch_size)
    d = distance.detach()
    return batch_size * torch.softmax(-d / tau, dim=0)


def _check_subsample(subsample: int | None) -> None:
    if subsample is not None and (
        isinstance(subsample, bool) or not isinstance(subsample, int) or subsample < 1
    ):
        raise ValueError(f"subsample must be an integer >= 1 or None, got {subsample!r}")


def awam_loss(
    model: DSNFlow,
    x: torch.Tensor,
    lam: float = 0.0,
    tau: float = 1.0,
    *,
    subsample: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor | None]]:
    """AWAM loss of a batch of segments.

    Parameters
    ----------
    model : DSNFlow
        The flow.
    x : tensor of shape (B, C, T, V)
        A batch of (normalised) segments.
    lam : float, default=0.0
        Weight of the approximate-mass term; ``lam = 0`` gives plain maximum
        likelihood (and skips the double backward).
    tau : float, default=1.0
        Temperature of the adaptive weights; ``tau -> inf`` gives uniform
        weights, i.e. the approximate-mass loss of Chali et al. (2023).
    subsample : int or None, default=None
        Estimate the approximate-mass term on this many samples of the batch,
        drawn uniformly without replacement with ``generator``: unbiased for
        the full-batch term and its gradient, at the cost of a double backward
        over ``subsample`` samples instead of B. None (or >= B) computes it
        exactly on every sample.
    generator : torch.Generator, optional
        Random source of the subset (on the CPU); required with ``subsample < B``.

    Returns
    -------
    loss : scalar tensor
    info : dict
        Detached per-sample tensors: ``"nll"`` (bits/dim), ``"grad_norm"``
        (None when ``lam == 0``; NaN for samples outside the subset),
        ``"weights"``, ``"distance"`` (None without a hyperbolic branch), and
        ``"subset"``: the indices of the samples the term was computed on (None
        when it was computed on all of them).
    """
    if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite float >= 0, got {lam!r}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    _check_subsample(subsample)
    b = x.shape[0]
    if lam == 0 or subsample is None or subsample >= b:
        return _awam_full(model, x, lam, tau)
    if generator is None:
        raise ValueError("awam_loss needs a generator when subsample < batch size")
    _initialize_actnorm(model, x)
    perm = torch.randperm(b, generator=generator).to(x.device)
    subset, rest = perm[:subsample], perm[subsample:]
    x_s = x[subset].detach().requires_grad_(True)
    z_s, logdet_s, dist_s = model.transform(x_s)
    z_r, logdet_r, dist_r = model.transform(x[rest].detach())
    n_dims = x[0].numel()
    nll_s = nll_bits_per_dim(model.prior_log_prob(z_s) + logdet_s, n_dims)
    nll_r = nll_bits_per_dim(model.prior_log_prob(z_r) + logdet_r, n_dims)
    inverse = torch.argsort(perm)
    nll = torch.cat([nll_s, nll_r])[inverse]
    distance = None if dist_s is None else torch.cat([dist_s, dist_r])[inverse]
    weights = awam_weights(distance, b, tau).to(nll)
    (grad,) = torch.autograd.grad(nll_s.sum(), x_s, create_graph=True)
    g_s = grad.flatten(1).norm(dim=1)
    loss = nll.mean() + lam * (weights[subset] * g_s).mean()
    grad_norm = torch.full((b,), float("nan"), dtype=nll.dtype, device=nll.device)
    grad_norm[subset] = g_s.detach()
    info = {
        "nll": nll.detach(),
        "grad_norm": grad_norm,
        "weights": weights,
        "distance": None if distance is None else distance.detach(),
        "subset": subset,
    }
    return loss, info


@torch.no_grad()
def _initialize_actnorm(model: DSNFlow, x: torch.Tensor) -> None:
    """Run the data initialisation of the ActNorm layers on the whole batch.

    A split forward pass would otherwise initialise them from the first part only.
    """
    pending = [m for m in model.modules() if isinstance(m, ActNorm) and not bool(m.initialized)]
    if pending and model.training:
        model.transform(x.detach())


def _awam_full(
    model: DSNFlow, x: torch.Tensor, lam: float, tau: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor | None]]:
    """The AWAM loss with the approximate-mass term on every sample of the batch."""
    if lam > 0:
        x = x.detach().requires_grad_(True)
    z, logdet, distance = model.transform(x)
    nll = nll_bits_per_dim(model.prior_log_prob(z) + logdet, x[0].numel())
    weights = awam_weights(distance, x.shape[0], tau).to(nll)
    loss = nll.mean()
    grad_norm = None
    if lam > 0:
        (grad,) = torch.autograd.grad(nll.sum(), x, create_graph=True)
        grad_norm = grad.flatten(1).norm(dim=1)
        loss = loss + lam * (weights * grad_norm).mean()
        grad_norm = grad_norm.detach()
    info = {
        "nll": nll.detach(),
        "grad_norm": grad_norm,
        "weights": weights,
        "distance": None if distance is None else distance.detach(),
        "subset": None,
    }
    return loss, info
