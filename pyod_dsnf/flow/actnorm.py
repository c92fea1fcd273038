"""Activation normalisation with data-dependent initialisation (Glow)."""

from __future__ import annotations

import torch
from torch import nn


class ActNorm(nn.Module):
    """Per-channel affine map ``y = (x + bias) * exp(log_scale)``.

    The first batch seen in training mode sets ``bias`` and ``log_scale`` so
    that this batch comes out with zero mean and unit standard deviation per
    channel; afterwards both are ordinary trainable parameters.

    Whether that happened is the ``initialized`` buffer (saved with the weights).
    Reading a buffer on a GPU waits for the GPU, so the layer remembers once it
    has seen it set (:meth:`is_initialized`) and reads it again only after
    ``load_state_dict``: a training step then never waits for the GPU here.

    Parameters
    ----------
    channels : int
        Number of channels C of inputs shaped ``(B, C, T, V)``.
    eps : float, default=1e-6
        Added to the standard deviation at initialisation.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.eps = eps
        self.register_buffer("initialized", torch.tensor(False))
        self._known_initialized = False  # a host-side mirror, only ever True once seen so
        self.register_load_state_dict_post_hook(_forget_initialized)

    def is_initialized(self) -> bool:
        """The ``initialized`` buffer, read from the device at most until it is seen set."""
        if not getattr(self, "_known_initialized", False):  # absent in old pickles
            self._known_initialized = bool(self.initialized)
        return self._known_initialized

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set bias and scale from the batch ``x`` (no gradient flows)."""
        x = x.detach()
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.initialized.fill_(True)
        self._known_initialized = True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not self.is_initialized():
            self.initialize(x)
        y = (x + self.bias) * torch.exp(self.log_scale)
        logdet = self.log_scale.sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.bias


def _forget_initialized(module: ActNorm, incompatible_keys: object) -> None:
    """Post-hook of ``load_state_dict``: the loaded buffer decides again."""
    module._known_initialized = False
