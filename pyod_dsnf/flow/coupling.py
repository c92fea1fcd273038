"""Affine coupling layer with a bounded scale."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

SubnetConstructor = Callable[[int, int], nn.Module]


class AffineCoupling(nn.Module):
    """Affine coupling: ``y_b = (x_b + shift(x_a)) * scale(x_a)``, ``y_a = x_a``.

    The channels are split into ``x_a`` (the first ``channels // 2``) and
    ``x_b``; the subnet maps ``x_a`` to ``2 * len(x_b)`` channels, read as
    shift (even channels) and pre-scale ``s`` (odd channels), and
    ``scale = sigmoid(s + 2) + eps`` keeps every step's scale in
    ``(eps, 1 + eps)``, which keeps training stable.

    Parameters
    ----------
    channels : int
        Number of channels C (at least 2).
    subnet_constructor : callable
        ``subnet_constructor(in_channels, out_channels)`` returns an
        ``nn.Module`` whose forward returns either a tensor or a tuple
        ``(tensor, aux)``; ``aux`` (for instance the hyperbolic distances of
        :class:`pyod_dsnf.nn.DualSpaceGCN`) is passed through by
        :meth:`transform`.
    eps : float, default=1e-6
        Lower bound of the scale.
    """

    def __init__(
        self, channels: int, subnet_constructor: SubnetConstructor, eps: float = 1e-6
    ) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f"an affine coupling needs at least 2 channels, got {channels}")
        self.split = channels // 2
        self.subnet = subnet_constructor(self.split, 2 * (channels - self.split))
        self.eps = eps

    def _scale_shift(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, object]:
        out = self.subnet(x_a)
        out, aux = out if isinstance(out, tuple) else (out, None)
        shift, s = out[:, 0::2], out[:, 1::2]
        return torch.sigmoid(s + 2.0) + self.eps, shift, aux

    def transform(
        self, x: torch.Tensor, per_position: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, object]:
        """Forward pass returning ``(y, logdet, aux)``.

        ``logdet`` has one value per sample, or with ``per_position=True`` one
        per position ``(B, T, V)`` (the log-scales summed over channels only).
        """
        x_a, x_b = x[:, : self.split], x[:, self.split :]
        scale, shift, aux = self._scale_shift(x_a)
        y_b = (x_b + shift) * scale
        log_scale = torch.log(scale)
        logdet = log_scale.sum(dim=1) if per_position else log_scale.flatten(1).sum(dim=1)
        return torch.cat([x_a, y_b], dim=1), logdet, aux

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, logdet, _ = self.transform(x)
        return y, logdet

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y_a, y_b = y[:, : self.split], y[:, self.split :]
        scale, shift, _ = self._scale_shift(y_a)
        return torch.cat([y_a, y_b / scale - shift], dim=1)
