"""Small, deterministic flows for the tests (tiny graph, perturbed parameters)."""

from __future__ import annotations

import geoopt
import torch

from pyod_dsnf.flow import DSNFlow
from pyod_dsnf.poses.skeletons import SkeletonGraph


def chain_graph(n_joints: int) -> SkeletonGraph:
    """A path of ``n_joints`` joints centred on the middle one."""
    return SkeletonGraph(
        name=f"chain{n_joints}",
        n_joints=n_joints,
        edges=[(i, i + 1) for i in range(n_joints - 1)],
        center=[n_joints // 2],
        flip_pairs=[(i, n_joints - 1 - i) for i in range(n_joints // 2)],
    )


def make_flow(
    space: str = "dual",
    permutation: str = "reverse",
    dtype: torch.dtype = torch.float64,
    *,
    channels: int = 2,
    n_frames: int = 4,
    n_joints: int = 5,
    n_flow_steps: int = 2,
    hidden_channels: int = 4,
    curvature: float = 1.0,
    learn_curvature: bool = False,
    seed: int = 0,
    noise: float = 0.3,
) -> DSNFlow:
    """A flow with ActNorm initialised and every parameter perturbed off its identity start."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = DSNFlow(
            in_channels=channels,
            n_frames=n_frames,
            graph=chain_graph(n_joints),
            n_flow_steps=n_flow_steps,
            hidden_channels=hidden_channels,
            space=space,
            curvature=curvature,
            learn_curvature=learn_curvature,
            permutation=permutation,
            generator=gen,
        )
    model = model.to(dtype).train()
    x = torch.randn(16, channels, n_frames, n_joints, generator=gen, dtype=dtype) * 3 + 1
    model(x)  # data-dependent ActNorm initialisation
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(noise * torch.randn(p.shape, generator=gen, dtype=dtype))
                if isinstance(p, geoopt.ManifoldParameter):  # a ball's bias point stays inside
                    p.copy_(p.manifold.projx(p))
    return model.eval()
