"""Euclidean spatio-temporal graph convolution (ST-GCN block), computed on frame rows.

Layout. The layers compute on **frame rows**: a ``(B, C, T, V)`` tensor is the
``(B*T, V*C)`` matrix whose row is one frame of one segment and whose columns are
the joints' channel vectors side by side (column ``v*C + c``; :func:`to_rows`,
:func:`from_rows`). A layer that mixes joints and channels is then one dense
``(V*C_in) x (V*C_out)`` matrix applied to all frames of the batch at once: one
large product with an inner dimension of ``V*C`` instead of many products whose
inner or outer dimension is ``C`` or ``V`` (memory bound on CPU). The dense
matrices are *derived* from the modules' parameters (which keep their shapes
and names, so saved models load): :meth:`Pointwise.dense`,
:meth:`SpatialGraphConv.dense`, :meth:`TemporalConv.dense_taps`.
:class:`pyod_dsnf.nn.DualSpaceGCN` composes them (a lift followed by the graph
convolution is one matrix) and caches them in eval mode.

The modules' own ``forward`` take and return ``(B, C, T, V)`` tensors and use
the same dense matrices; they exist for tests and for use on their own.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def to_rows(x: torch.Tensor) -> torch.Tensor:
    """The ``(B*T, V*C)`` frame-row matrix of a ``(B, C, T, V)`` tensor (column ``v*C + c``)."""
    b, c, t, v = x.shape
    return x.permute(0, 2, 3, 1).reshape(b * t, v * c)


def from_rows(rows: torch.Tensor, b: int, t: int, c: int) -> torch.Tensor:
    """The ``(B, C, T, V)`` view of a frame-row matrix with ``c`` channels per joint."""
    return rows.view(b, t, -1, c).permute(0, 3, 1, 2)


def block_diagonal(weight: torch.Tensor, v: int) -> torch.Tensor:
    """``(v*in, v*out)`` matrix applying the ``(out, in)`` channel mixing to each joint.

    ``kron(I_v, weight.T)``: the per-joint 1x1 convolution on frame rows.
    """
    eye = torch.eye(v, dtype=weight.dtype, device=weight.device)
    out_channels, in_channels = weight.shape
    return torch.einsum("ij,oc->icjo", eye, weight).reshape(v * in_channels, v * out_channels)


def add_shifted_taps(y: torch.Tensor, taps: torch.Tensor, r: int) -> torch.Tensor:
    """Add ``taps[:, :, j]`` shifted by ``j - r`` frames into ``y`` in place, for ``j != r``.

    ``y`` is ``(B, T, F)`` and ``taps`` ``(B, T, k, F)`` (``k = 2r + 1``): frame ``t``
    of ``y`` receives frame ``t + j - r`` of tap ``j`` when it exists (zero padding
    at the segment's ends). ``y`` may be a view of ``taps[:, :, r]``.
    """
    t = y.shape[1]
    for j in range(2 * r + 1):
        d = j - r  # frame offset of the tap
        if d == 0 or abs(d) >= t:
            continue
        y[:, max(-d, 0) : t - max(d, 0)].add_(taps[:, max(d, 0) : t - max(-d, 0), j])
    return y


def _check_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    a = torch.as_tensor(adjacency, dtype=torch.get_default_dtype())
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"adjacency must have shape (partitions, V, V), got {tuple(a.shape)}")
    return a


class Pointwise(nn.Module):
    """1x1 convolution over ``(B, C, T, V)`` tensors.

    Same parameters and initialisation as ``nn.Conv2d(in, out, 1)`` (weight
    stored as ``(out, in)``). On frame rows it is the block-diagonal matrix
    :meth:`dense`.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        bound = 1 / math.sqrt(in_channels)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def dense(self, v: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(matrix (v*in, v*out), bias row (v*out,) or None)`` on frame rows of ``v`` joints."""
        bias = None if self.bias is None else self.bias.repeat(v)
        return block_diagonal(self.weight, v), bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, v = x.shape
        matrix, bias = self.dense(v)
        rows = to_rows(x) @ matrix if bias is None else torch.addmm(bias, to_rows(x), matrix)
        return from_rows(rows, b, t, self.weight.shape[0])


class TemporalConv(nn.Module):
    """Convolution over frames with a ``(kernel, 1)`` kernel, zero padded to keep T.

    ``y[t] = sum_j W_j x[t + j - r] + bias`` (``r = kernel // 2``). On frame rows:
    one product of the rows with all taps stacked (:meth:`dense_taps`), then the
    taps' results are added shifted along the frames (:func:`add_shifted_taps`),
    in place, which is the zero padding without a padded copy.
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

    def dense_taps(self, v: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(matrix (v*in, k*v*out), bias row (k*v*out,))`` for frame rows of ``v`` joints.

        Column block ``j`` is tap ``j``; the bias sits in the centre tap's block
        only, so the product's centre block is ``W_r x + bias``.
        """
        k, out_channels, _ = self.weight.shape
        matrix = torch.cat([block_diagonal(self.weight[j], v) for j in range(k)], dim=1)
        bias = self.weight.new_zeros(k, v * out_channels)
        bias[k // 2] = self.bias.repeat(v)
        return matrix, bias.view(-1)

    def node_taps(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(matrix (in, k*out), bias row (k*out,))`` for node rows ``(B*T*V, in)``.

        The same taps as :meth:`dense_taps` without the block-diagonal
        expansion over joints (``V`` times fewer operations, a thinner product).
        """
        k, out_channels, in_channels = self.weight.shape
        matrix = self.weight.permute(2, 0, 1).reshape(in_channels, k * out_channels)
        bias = self.weight.new_zeros(k, out_channels)
        bias[k // 2] = self.bias
        return matrix, bias.view(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, v = x.shape
        k, out_channels, _ = self.weight.shape
        matrix, bias = self.dense_taps(v)
        taps = torch.addmm(bias, to_rows(x), matrix).view(b, t, k, -1)
        y = add_shifted_taps(taps[:, :, k // 2], taps, k // 2)
        return from_rows(y.reshape(b * t, -1), b, t, out_channels)


class SpatialGraphConv(nn.Module):
    """Partitioned graph convolution over the joints of every frame.

    ``out[:, :, t, i] = sum_k sum_j A[k, i, j] * (W_k x[:, :, t, j] + b_k)``: one
    channel mixing per partition of the adjacency ``A`` (shape ``(K, V, V)``,
    see :meth:`pyod_dsnf.graph.SkeletonGraph.adjacency`), messages summed.
    On frame rows this is the single dense matrix ``sum_k A_k^T (x) W_k^T``
    (:meth:`dense`), whose bias is ``sum_k b_k * rowsum(A_k)`` per joint.

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

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(matrix (V*in, V*out), bias row (V*out,))`` on frame rows.

        ``matrix[j*in + c, i*out + o] = sum_k A[k, i, j] W_k[o, c]``.
        """
        k, v, _ = self.adjacency.shape
        a = self.adjacency.to(self.conv.weight.dtype)
        weight = self.conv.weight.view(k, self.out_channels, -1)  # (K, out, in)
        matrix = torch.einsum("kij,koc->jcio", a, weight).reshape(-1, v * self.out_channels)
        bias = torch.einsum("ki,ko->io", a.sum(dim=2), self.conv.bias.view(k, -1)).reshape(-1)
        return matrix, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, _ = x.shape
        matrix, bias = self.dense()
        return from_rows(torch.addmm(bias, to_rows(x), matrix), b, t, self.out_channels)


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

    def forward_rows(
        self,
        h: torch.Tensor,
        spatial: torch.Tensor,
        taps: tuple[torch.Tensor, torch.Tensor],
        b: int,
        t: int,
    ) -> torch.Tensor:
        """The block on frame rows, given the spatial convolution's output.

        ``h`` (the block's input, ``(B*T, V*H)``) and ``spatial`` (``h`` through
        the spatial graph convolution, possibly computed by a product fused
        with the layer before); ``taps`` is :meth:`TemporalConv.node_taps`:
        the temporal convolution mixes channels per joint, so it runs on the
        ``(B*T*V, H)`` node rows of the same storage. Returns
        ``leaky(h + temporal(leaky(spatial)))`` as a new ``(B*T, V*H)`` matrix.
        """
        matrix, bias = taps
        k, hdim, hin = self.temporal.weight.shape
        n = h.shape[0]
        g = nn.functional.leaky_relu(spatial, 0.2)  # contiguous: node rows are a view
        out = torch.addmm(bias, g.view(-1, hin), matrix)
        out = out.view(b, t, -1, k, hdim)  # (B, T, V, tap, H)
        y = add_shifted_taps(out[:, :, :, k // 2], out.transpose(2, 3), k // 2)
        y = y.add_(h.view(b, t, -1, hdim))  # residual (in the centre tap's storage)
        return nn.functional.leaky_relu(y, 0.2).reshape(n, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, _ = x.shape
        rows = to_rows(x)
        matrix, bias = self.spatial.dense()
        spatial = torch.addmm(bias, rows, matrix)
        out = self.forward_rows(rows, spatial, self.temporal.node_taps(), b, t)
        return from_rows(out, b, t, c)
