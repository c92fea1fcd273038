"""The Dual-Space Parallel GCN (DSPGCN): the coupling network of DSNF."""

from __future__ import annotations

import geoopt
import torch
from torch import nn

from pyod_dsnf.nn.euclidean import Pointwise, STGCNBlock
from pyod_dsnf.nn.hyperbolic import HyperbolicGraphConv

SPACES = ("dual", "euclidean", "hyperbolic")
FUSIONS = ("gate", "concat")


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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.lift(x)
        distance = None
        if self.hyperbolic is not None:
            h_hyp, distance = self.hyperbolic(h)
        if self.space == "euclidean":
            fused = self.euclidean(h)
        elif self.space == "hyperbolic":
            fused = h_hyp
        elif self.fusion == "gate":
            # g * euclidean + (1 - g) * hyperbolic, as one pass over the features.
            fused = torch.lerp(h_hyp, self.euclidean(h), torch.sigmoid(self.gate))
        else:
            fused = self.mix(torch.cat([self.euclidean(h), h_hyp], dim=1))
        return self.out(fused), distance
