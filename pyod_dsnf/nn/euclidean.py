"""Euclidean spatio-temporal graph convolution (ST-GCN block).

Tensors are laid out ``(batch, channels, frames, joints)`` = ``(B, H, T, V)``.
"""

from __future__ import annotations

import torch
from torch import nn


def _check_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    a = torch.as_tensor(adjacency, dtype=torch.get_default_dtype())
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"adjacency must have shape (partitions, V, V), got {tuple(a.shape)}")
    return a


class SpatialGraphConv(nn.Module):
    """Partitioned graph convolution over the joints of every frame.

    ``out[:, :, t, i] = sum_k sum_j A[k, i, j] * (W_k x[:, :, t, j]) + b``: one
    1x1 convolution per partition of the adjacency ``A`` (shape ``(K, V, V)``,
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
        self.conv = nn.Conv2d(in_channels, out_channels * a.shape[0], kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, v = x.shape
        k = self.adjacency.shape[0]
        h = self.conv(x).view(b, k, self.out_channels, t, v)
        return torch.einsum("bkctj,kij->bcti", h, self.adjacency.to(h.dtype))


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
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(
                f"temporal_kernel must be a positive odd integer, got {temporal_kernel}"
            )
        self.spatial = SpatialGraphConv(channels, channels, adjacency)
        self.temporal = nn.Conv2d(
            channels, channels, kernel_size=(temporal_kernel, 1), padding=(temporal_kernel // 2, 0)
        )
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.temporal(self.act(self.spatial(x))))
