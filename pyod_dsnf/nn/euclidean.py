"""Euclidean spatio-temporal graph convolution (ST-GCN block).

Tensors are laid out ``(batch, channels, frames, joints)`` = ``(B, H, T, V)``.
Channel mixing is written as matrix products rather than ``nn.Conv2d``: with a
handful of channels the oneDNN convolution kernels are several times slower
than a plain matmul on CPU (``benchmarks/bench_speed.py`` measures the model).

Memory layout: the layers compute on the ``(C, B*T*V)`` matrix of a tensor
(channels outermost) and return ``(B, C, T, V)`` *views* of such matrices
(:func:`channels_first` / :func:`from_channels_first`). A chain of layers thus
never copies: every channel mixing is one 2-D matmul with a long inner
dimension, every graph product a matmul over the contiguous joint axis, and
elementwise operations in between keep the layout. A batched matmul against a
``(B, C, T*V)`` tensor instead broadcasts the weight over the batch and runs
``B`` tiny products, several times slower on CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """The ``(C, B*T*V)`` matrix of a ``(B, C, T, V)`` tensor.

    Free (a view) for the outputs of these layers, one copy for other layouts.
    """
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def from_channels_first(y: torch.Tensor, b: int, t: int, v: int) -> torch.Tensor:
    """The ``(B, C, T, V)`` view of a ``(C, B*T*V)`` matrix (or ``(C, B, T, V)`` tensor)."""
    return y.view(-1, b, t, v).transpose(0, 1)


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
        x = channels_first(x)
        if self.bias is None:
            return from_channels_first(torch.mm(self.weight, x), b, t, v)
        return from_channels_first(torch.addmm(self.bias[:, None], self.weight, x), b, t, v)


class TemporalConv(nn.Module):
    """Convolution over frames with a ``(kernel, 1)`` kernel, zero padded to keep T.

    Computed as one matmul mixing the channels of the input for every tap at
    once, then a sum of the taps' results shifted along the frames:
    ``y[t] = sum_j W_j x[t + j - r] = sum_j (W_j x)[t + j - r]``. Each shifted
    tap is added in place into the frames it reaches, which is the zero
    padding without a padded copy; no input slice is ever copied.
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
        k, out_channels, _ = self.weight.shape
        taps = torch.mm(self.weight.reshape(k * out_channels, c), channels_first(x))
        taps = taps.view(k, out_channels, b, t, v)
        r = k // 2
        y = taps[r] + self.bias[:, None, None, None]  # (out, B, T, V)
        return from_channels_first(_add_shifted_taps(y, taps, r), b, t, v)


def _add_shifted_taps(y: torch.Tensor, taps: torch.Tensor, r: int, weight=None) -> torch.Tensor:
    """Add ``taps[j]`` (frames shifted by ``j - r``) into ``y`` in place, for ``j != r``.

    ``y`` and ``taps[j]`` are ``(C, B, T, V)``; frame ``t`` of ``y`` receives frame
    ``t + j - r`` of ``taps[j]`` when it exists (zero padding at the segment's
    ends). With ``weight`` of shape ``(2r + 1, C)``, tap ``j`` is first scaled per
    channel by ``weight[j]`` (``taps`` may then be one tensor for all ``j``).
    """
    t = y.shape[2]
    for j in range(2 * r + 1):
        d = j - r  # frame offset of the tap
        if d == 0 or abs(d) >= t:
            continue
        dst = y[:, :, max(-d, 0) : t - max(d, 0)]
        src = (taps if weight is not None else taps[j])[:, :, max(d, 0) : t - max(-d, 0)]
        if weight is None:
            dst.add_(src)
        else:
            dst.addcmul_(src, weight[j][:, None, None, None])
    return y


class SpatialGraphConv(nn.Module):
    """Partitioned graph convolution over the joints of every frame.

    ``out[:, :, t, i] = sum_k sum_j A[k, i, j] * (W_k x[:, :, t, j] + b_k)``: one
    channel mixing per partition of the adjacency ``A`` (shape ``(K, V, V)``,
    see :meth:`pyod_dsnf.poses.skeletons.SkeletonGraph.adjacency`), messages summed.

    Since the graph product and the channel mixing commute, each partition's
    graph product is taken first, at the input width (one matmul over the
    contiguous joint axis of the ``(C*B*T, V)`` matrix), and its ``(out, C)``
    channel mixing is accumulated into the output by ``addmm_``; the bias
    becomes ``sum_k b_k * rowsum(A_k)`` per joint. Same function as mixing to
    ``K*out`` channels first, without the ``K*out``-channel intermediate, the
    copies of its per-partition slices and the separate partition sums.

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
        b, c, t, v = x.shape
        k = self.adjacency.shape[0]
        a = self.adjacency.to(x.dtype)
        rows = channels_first(x).view(-1, v)  # (C*B*T, V)
        weight = self.conv.weight.view(k, self.out_channels, c)  # rows (k, o) of the conv
        # The mixed bias spread by each partition, (out, V), broadcast over (B, T).
        bias = (self.conv.bias.view(k, self.out_channels).T @ a.sum(dim=2))[:, None, :]
        out = None
        for p in range(k):
            messages = torch.mm(rows, a[p].T).view(c, -1)  # (C, B*T*V)
            if out is None:
                out = torch.mm(weight[p], messages)
            else:  # in place: the out-of-place addmm would first copy `out`
                out.addmm_(weight[p], messages)
        out.view(self.out_channels, b * t, v).add_(bias)
        return from_channels_first(out, b, t, v)


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
