"""Channel permutations between coupling layers."""

from __future__ import annotations

import torch
from torch import nn


class ReversePermutation(nn.Module):
    """Reverse the channel order (volume preserving, log-det 0)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flip(1), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y.flip(1)


class InvertibleConv1x1(nn.Module):
    """Invertible 1x1 convolution over channels, LU-parameterised (Glow).

    ``W = P @ L @ (U + diag(sign * exp(log_s)))`` with P a fixed permutation,
    L unit lower triangular and U strictly upper triangular, so
    ``log|det W| = sum(log_s)`` costs O(C). W starts as a random rotation.

    Parameters
    ----------
    channels : int
        Number of channels C.
    generator : torch.Generator, optional
        Source of the random initial rotation.
    """

    def __init__(self, channels: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        q, _ = torch.linalg.qr(
            torch.randn(channels, channels, generator=generator, dtype=torch.float64)
        )
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        dtype = torch.get_default_dtype()
        self.register_buffer("perm", p.to(dtype))
        self.register_buffer("sign_s", torch.sign(s).to(dtype))
        self.register_buffer(
            "lower_mask", torch.tril(torch.ones(channels, channels, dtype=dtype), -1)
        )
        self.register_buffer("eye", torch.eye(channels, dtype=dtype))
        self.lower = nn.Parameter(lower.to(dtype))
        self.upper = nn.Parameter(torch.triu(upper, 1).to(dtype))
        self.log_s = nn.Parameter(torch.log(torch.abs(s)).to(dtype))

    def weight(self) -> torch.Tensor:
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.einsum("oc,bctv->botv", self.weight(), x)
        logdet = self.log_s.sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return torch.einsum("oc,bctv->botv", torch.linalg.inv(self.weight()), y)
