"""The Dual-Space Parallel GCN (DSPGCN): the coupling network of DSNF."""

from __future__ import annotations

from dataclasses import dataclass

import geoopt
import torch
from torch import nn

from pyod_dsnf.nn.euclidean import Pointwise, STGCNBlock, block_diagonal, from_rows, to_rows
from pyod_dsnf.nn.hyperbolic import BallGeometry, HyperbolicGraphConv, node_ones

SPACES = ("dual", "euclidean", "hyperbolic")
FUSIONS = ("gate", "concat")


@dataclass
class FusedMatrices:
    """The dense frame-row matrices of one :class:`DualSpaceGCN`, derived from its parameters.

    ``first`` maps the input's frame rows ``(B*T, V*C_in)`` in one product to the
    column blocks ``[h | spatial(h) | W h | <b, W h>]`` (those of the branches
    present): the lift, the lift composed with the spatial graph convolution,
    the lift composed with the hyperbolic layer's matrix, and the inner product
    of that with the bias point. ``out_euc`` / ``out_hyp`` map each branch's
    output to the network's output (the fusion composed with the last 1x1
    convolution; block diagonal per joint).
    """

    first: torch.Tensor
    first_bias: torch.Tensor
    temporal: tuple[torch.Tensor, torch.Tensor] | None
    geometry: BallGeometry | None
    aggregation: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None
    ones: torch.Tensor | None
    out_euc: torch.Tensor | None
    out_hyp: torch.Tensor | None
    out_bias: torch.Tensor


class DualSpaceGCN(nn.Module):
    """Euclidean ST-GCN and hyperbolic GCN side by side on a lifted input, fused.

    ``x -> lift (1x1 conv to H) -> [Euclidean branch | hyperbolic branch]
    -> fusion -> 1x1 conv to out_channels``. The last convolution starts at
    zero so that a coupling layer using this network starts as the identity.

    Parameters
    ----------
    in_channels, out_channels : int
        Input channels (the conditioning half of the coupling) and output
        channels (shift and log-scale for the transformed half).
    hidden_channels : int
        Feature size H of both branches.
    adjacency : array-like of shape (K, V, V)
        Partitioned skeleton adjacency.
    space : {"dual", "euclidean", "hyperbolic"}, default="dual"
        Which branches to run.
    ball : geoopt.PoincareBall, optional
        Manifold of the hyperbolic branch; required unless space="euclidean".
    temporal_kernel : int, default=3
        Temporal kernel size of both branches.
    fusion : {"gate", "concat"}, default="gate"
        "gate": ``g * euclidean + (1 - g) * hyperbolic`` with a learned
        per-channel ``g = sigmoid(w)`` starting at 0.5; "concat": concatenate
        and mix with a 1x1 convolution. Only used when space="dual".

    Notes
    -----
    ``forward`` returns ``(out, distance)``: ``distance`` is each sample's mean
    Poincaré distance of the hyperbolic node embeddings from the origin, or
    ``None`` when there is no hyperbolic branch.

    Computation: on frame rows (see :mod:`pyod_dsnf.nn.euclidean`), a handful
    of dense products per forward (:class:`FusedMatrices`). The matrices are
    built from the parameters in every forward that may need gradients; in eval
    mode without gradients they are cached and rebuilt when any parameter or
    buffer changes (tracked by the tensors' identities and version counters).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        adjacency: torch.Tensor,
        space: str = "dual",
        ball: geoopt.PoincareBall | None = None,
        temporal_kernel: int = 3,
        fusion: str = "gate",
    ) -> None:
        super().__init__()
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if space != "euclidean" and ball is None:
            raise ValueError(f"space={space!r} needs a geoopt PoincareBall as `ball`")
        self.space = space
        self.fusion = fusion if space == "dual" else None
        self.lift = Pointwise(in_channels, hidden_channels)
        self.euclidean = (
            STGCNBlock(hidden_channels, adjacency, temporal_kernel)
            if space != "hyperbolic"
            else None
        )
        self.hyperbolic = (
            HyperbolicGraphConv(hidden_channels, adjacency, ball, temporal_kernel)
            if space != "euclidean"
            else None
        )
        if self.fusion == "gate":
            self.gate = nn.Parameter(torch.zeros(hidden_channels, 1, 1))
        elif self.fusion == "concat":
            self.mix = Pointwise(2 * hidden_channels, hidden_channels)
        self.out = Pointwise(hidden_channels, out_channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self._cache: tuple[tuple, FusedMatrices] | None = None

    # ------------------------------------------------------------ fused matrices
    def _signature(self, v: int, dtype: torch.dtype) -> tuple:
        tensors = [*self.parameters(), *self.buffers()]
        state = tuple((id(p), p._version, p.data_ptr(), p.dtype, p.device) for p in tensors)
        return (v, dtype, state)

    def fused_matrices(self, v: int, dtype: torch.dtype) -> FusedMatrices:
        """The dense matrices for frame rows of ``v`` joints (cached in eval mode without grad).

        In training mode, or whenever gradients are enabled, they are built from
        the parameters (autograd flows through their construction).
        """
        if self.training or torch.is_grad_enabled():
            self._cache = None
            return self._build(v, dtype)
        key = self._signature(v, dtype)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._build(v, dtype))
        return self._cache[1]

    def train(self, mode: bool = True) -> DualSpaceGCN:
        self._cache = None
        return super().train(mode)

    def _output_maps(self, v: int) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        """Per-branch output matrices (fusion composed with the last 1x1 conv) and the bias."""
        w_out, b_out = self.out.weight, self.out.bias
        if self.space == "euclidean":
            return block_diagonal(w_out, v), None, b_out.repeat(v)
        if self.space == "hyperbolic":
            return None, block_diagonal(w_out, v), b_out.repeat(v)
        if self.fusion == "gate":
            g = torch.sigmoid(self.gate.view(1, -1))
            euc, hyp = w_out * g, w_out * (1 - g)
            bias = b_out
        else:  # concat: mix (2H -> H) then out (H -> out), both linear
            h = self.mix.weight.shape[0]
            composed = w_out @ self.mix.weight  # (out, 2H)
            euc, hyp = composed[:, :h], composed[:, h:]
            bias = w_out @ self.mix.bias + b_out
        return block_diagonal(euc, v), block_diagonal(hyp, v), bias.repeat(v)

    def _build(self, v: int, dtype: torch.dtype) -> FusedMatrices:
        lift, lift_bias = self.lift.dense(v)
        blocks, biases = [lift], [lift_bias]
        temporal = geometry = aggregation = ones = None
        if self.euclidean is not None:
            spatial, spatial_bias = self.euclidean.spatial.dense()
            blocks.append(lift @ spatial)
            biases.append(lift_bias @ spatial + spatial_bias)
            temporal = self.euclidean.temporal.node_taps()
        if self.hyperbolic is not None:
            hyp = self.hyperbolic
            geometry = hyp.geometry(dtype)
            w_matrix, bw = hyp.row_maps(v, geometry)
            blocks += [lift @ w_matrix, lift @ bw]
            biases += [lift_bias @ w_matrix, lift_bias @ bw]
            aggregation = hyp.aggregation(v, geometry)
            ones = node_ones(v, hyp.weight.shape[0], lift.dtype, lift.device)
        out_euc, out_hyp, out_bias = self._output_maps(v)
        return FusedMatrices(
            first=torch.cat(blocks, dim=1),
            first_bias=torch.cat(biases),
            temporal=temporal,
            geometry=geometry,
            aggregation=aggregation,
            ones=ones,
            out_euc=out_euc,
            out_hyp=out_hyp,
            out_bias=out_bias,
        )

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, _, t, v = x.shape
        fused = self.fused_matrices(v, x.dtype)
        width = fused.out_bias.shape[0] // v  # out_channels
        first = torch.addmm(fused.first_bias, to_rows(x), fused.first)
        f = self.lift.weight.shape[0] * v  # V*H
        h = first[:, :f]
        offset = f
        euc = distance = out = None
        if self.euclidean is not None:
            spatial = first[:, offset : offset + f]
            offset += f
            euc = self.euclidean.forward_rows(h, spatial, fused.temporal, b, t)
        if self.hyperbolic is not None:
            ones = fused.ones
            hyp, factor, distance = self.hyperbolic.forward_rows(
                first[:, offset : offset + f],
                first[:, offset + f :],
                torch.mm(h * h, ones),
                b,
                t,
                fused.geometry,
                fused.aggregation,
                ones,
            )
            # The per-joint factor commutes with the per-joint output map: apply it
            # to the (narrower) output instead of the hidden features.
            out = torch.mm(hyp, fused.out_hyp).view(b * t, v, width) * factor[:, :, None]
            out = out.view(b * t, -1).add_(fused.out_bias)
        if euc is not None:
            out = (
                torch.addmm(fused.out_bias, euc, fused.out_euc)
                if out is None
                else out.addmm_(euc, fused.out_euc)
            )
        return from_rows(out, b, t, width), distance
