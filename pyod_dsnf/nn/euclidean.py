"""Euclidean spatio-temporal graph convolution (ST-GCN block).

Tensors are laid out ``(batch, channels, frames, joints)`` = ``(B, H, T, V)``.
Channel mixing is written as batched matrix products over the flattened
``T*V`` positions rather than ``nn.Conv2d``: with a handful of channels the
oneDNN convolution kernels are several times slower than a plain matmul on CPU
(``benchmarks/bench_speed.py`` measures the model).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    a = torch.as_tensor(adjacency, dtype=torch.get_default_dtype())
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"adjacency must have shape (partitions, V, V), got {tuple(a.shape)}")
    return a


class Pointwise(nn.Module):
    """1x1 convolution over ``(B, C, T, V)`` tensors, computed as a matmul.

    Same parameters and initialisation as ``nn.Conv2d(in, out, 1)`` (weight
    stored as ``(out, in)``).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        bound = 1 / math.sqrt(in_channels)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, v = x.shape
        y = torch.matmul(self.weight, x.reshape(b, x.shape[1], t * v))
        if self.bias is not None:
            y = y + self.bias[:, None]
        return y.view(b, -1, t, v)


class TemporalConv(nn.Module):
    """Convolution over frames with a ``(kernel, 1)`` kernel, zero padded to keep T.

    Computed as ``kernel`` matmuls over shifted views of the padded input.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be a positive odd integer, got {kernel}")
        fan_in = in_channels * kernel
        bound = 1 / math.sqrt(fan_in)
        self.weight = nn.Parameter(
            torch.empty(kernel, out_channels, in_channels).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, v = x.shape
        k = self.weight.shape[0]
        padded = nn.functional.pad(x, (0, 0, k // 2, k // 2))
        y = self.bias[:, None]
        for j in range(k):
            y = y + torch.matmul(self.weight[j], padded[:, :, j : j + t].reshape(b, c, t * v))
        return y.view(b, -1, t, v)


class SpatialGraphConv(nn.Module):
    """Partitioned graph convolution over the joints of every frame.

    ``out[:, :, t, i] = sum_k sum_j A[k, i, j] * (W_k x[:, :, t, j]) + b``: one
    channel mixing per partition of the adjacency ``A`` (shape ``(K, V, V)``,
    see :meth:`pyod_dsnf.graph.SkeletonGraph.adjacency`), messages summed.

    Parameters
    ----------
    in_channels, out_channels : int
        Feature sizes.
    adjacency : array-like of shape (K, V, V)
        Partitioned, normalised adjacency; stored as a buffer (not trained).
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor) -> None:
        super().__init__()
        a = _check_adjacency(adjacency)
        self.register_buffer("adjacency", a)
        self.out_channels = out_channels
        self.conv = Pointwise(in_channels, out_channels * a.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, v = x.shape
        k = self.adjacency.shape[0]
        h = self.conv(x).view(b, k, self.out_channels, t, v)
        a = self.adjacency.to(h.dtype)
        out = torch.matmul(h[:, 0], a[0].T)
        for p in range(1, k):
            out = out + torch.matmul(h[:, p], a[p].T)
        return out


class STGCNBlock(nn.Module):
    """ST-GCN block: spatial graph conv, activation, temporal conv, residual.

    Parameters
    ----------
    channels : int
        Input and output feature size H (the residual is the identity).
    adjacency : array-like of shape (K, V, V)
        Partitioned adjacency of the skeleton.
    temporal_kernel : int, default=3
        Odd kernel size of the temporal convolution (zero padding keeps T).
    """

    def __init__(self, channels: int, adjacency: torch.Tensor, temporal_kernel: int = 3) -> None:
        super().__init__()
        self.spatial = SpatialGraphConv(channels, channels, adjacency)
        self.temporal = TemporalConv(channels, channels, temporal_kernel)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.temporal(self.act(self.spatial(x))))
