"""Training losses: negative log-likelihood and AWAM.

AWAM, the Adaptive Weighted Approximation Mass loss (see docs/method.md)::

    L = mean_i NLL_i + lam * mean_i (w_i * g_i)
    g_i = || d NLL_i / d x_i ||_2                 (double backward)
    w_i = B * softmax_i(-d_i / tau), no gradient  (mean 1)

with ``NLL_i`` in bits per dimension and ``d_i`` the mean Poincaré distance of
sample i's hyperbolic node embeddings from the origin.

The estimator's ``awam_prob`` includes the second term on a random share of the
training steps only (see :func:`pyod_dsnf.detector._training.train_flow`).
"""

from __future__ import annotations

import math

import torch

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



def awam_loss(
    model: DSNFlow, x: torch.Tensor, lam: float = 0.0, tau: float = 1.0
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

    Returns
    -------
    loss : scalar tensor
    info : dict
        Detached per-sample tensors: ``"nll"`` (bits/dim), ``"grad_norm"``
        (None when ``lam == 0``), ``"weights"`` and ``"distance"`` (None without
        a hyperbolic branch).
    """
    if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite float >= 0, got {lam!r}")
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    return _awam_full(model, x, lam, tau)


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
    }
    return loss, info
