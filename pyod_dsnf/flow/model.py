"""DSNFlow: the dual-space normalizing flow over pose segments."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from pyod_dsnf._checks import check_int as _check_int
from pyod_dsnf.flow.actnorm import ActNorm
from pyod_dsnf.flow.coupling import AffineCoupling
from pyod_dsnf.flow.permutation import InvertibleConv1x1, ReversePermutation
from pyod_dsnf.nn.dual import SPACES, DualSpaceGCN
from pyod_dsnf.nn.hyperbolic import make_poincare_ball
from pyod_dsnf.poses.skeletons import SkeletonGraph, get_layout

PERMUTATIONS = ("reverse", "invconv")
_LOG_2PI = math.log(2 * math.pi)


def nll_bits_per_dim(log_prob: torch.Tensor, n_dims: int) -> torch.Tensor:
    """Log-likelihoods in nats -> negative log-likelihoods in bits per dimension."""
    return -log_prob / (n_dims * math.log(2))


class FlowStep(nn.Module):
    """One Glow step: ActNorm, channel permutation, affine coupling."""

    def __init__(self, channels: int, permutation: nn.Module, coupling: AffineCoupling) -> None:
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.permutation = permutation
        self.coupling = coupling

    def transform(
        self, x: torch.Tensor, per_position: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, object]:
        """Forward pass returning ``(y, logdet, aux)``; see :meth:`DSNFlow.transform`."""
        x, ld_norm = self.actnorm(x)
        x, ld_perm = self.permutation(x)
        x, ld_coupling, aux = self.coupling.transform(x, per_position=per_position)
        if per_position:
            # ActNorm and the permutations act on channels only: their log-det is the
            # same at every position, so each position gets an equal share.
            positions = x.shape[2] * x.shape[3]
            ld_norm = (ld_norm / positions)[:, None, None]
            ld_perm = (ld_perm / positions)[:, None, None]
        return x, ld_norm + ld_perm + ld_coupling, aux

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, logdet, _ = self.transform(x)
        return y, logdet

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return self.actnorm.inverse(self.permutation.inverse(self.coupling.inverse(y)))


class DSNFlow(nn.Module):
    """Dual-Space Normalizing Flow over pose segments ``(B, C, T, V)``.

    ``n_flow_steps`` Glow steps (ActNorm, permutation, affine coupling) whose
    coupling networks are :class:`pyod_dsnf.nn.DualSpaceGCN`; a standard
    normal prior on the output, so ``log p(x) = log N(f(x); 0, I) +
    log|det J_f(x)|`` is exact.

    Parameters
    ----------
    in_channels : int, default=2
        Channels C of a segment (the normalised x and y coordinates).
    n_frames : int, default=24
        Frames T per segment. The network is convolutional in time, so any
        T >= ``temporal_kernel`` is accepted; ``n_frames`` is what it is built
        and checked for.
    graph : str or SkeletonGraph, default="coco17"
        Skeleton layout; gives the number of joints V.
    n_flow_steps : int, default=8
        Number of flow steps K.
    hidden_channels : int, default=16
        Feature size H of the coupling networks.
    space : {"dual", "euclidean", "hyperbolic"}, default="dual"
        Branches of the coupling network ("euclidean" is an STG-NF-style
        baseline).
    curvature : float, default=1.0
        Curvature magnitude c > 0 of the Poincaré ball (ignored for
        space="euclidean").
    learn_curvature : bool, default=False
        Train c (one parameter shared by all layers).
    permutation : {"reverse", "invconv"}, default="reverse"
        Channel permutation: fixed reversal, or an LU-parameterised invertible
        1x1 convolution.
    temporal_kernel : int, default=3
        Odd temporal kernel size of the graph layers.
    fusion : {"gate", "concat"}, default="gate"
        How the dual coupling network fuses its branches.
    generator : torch.Generator, optional
        Random source for the initial invertible 1x1 convolutions.
    """

    def __init__(
        self,
        in_channels: int = 2,
        n_frames: int = 24,
        graph: str | SkeletonGraph = "coco17",
        n_flow_steps: int = 8,
        hidden_channels: int = 16,
        space: str = "dual",
        curvature: float = 1.0,
        learn_curvature: bool = False,
        permutation: str = "reverse",
        temporal_kernel: int = 3,
        fusion: str = "gate",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        _check_int("in_channels", in_channels, 2)
        _check_int("n_frames", n_frames, 1)
        _check_int("n_flow_steps", n_flow_steps, 1)
        _check_int("hidden_channels", hidden_channels, 1)
        _check_int("temporal_kernel", temporal_kernel, 1)
        if temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd, got {temporal_kernel}")
        if temporal_kernel > n_frames:
            raise ValueError(
                f"temporal_kernel={temporal_kernel} is longer than the segment "
                f"(n_frames={n_frames}); use temporal_kernel <= n_frames"
            )
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        if permutation not in PERMUTATIONS:
            raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {permutation!r}")
        self.graph = get_layout(graph)
        self.in_channels = in_channels
        self.n_frames = n_frames
        self.n_joints = self.graph.n_joints
        self.hidden_channels = hidden_channels
        self.space = space
        self.temporal_kernel = temporal_kernel
        self.ball = None if space == "euclidean" else make_poincare_ball(curvature, learn_curvature)
        adjacency = torch.as_tensor(self.graph.adjacency(), dtype=torch.get_default_dtype())
        subnet = partial(
            DualSpaceGCN,
            hidden_channels=hidden_channels,
            adjacency=adjacency,
            space=space,
            ball=self.ball,
            temporal_kernel=temporal_kernel,
            fusion=fusion,
        )
        steps = []
        for _ in range(n_flow_steps):
            perm = (
                ReversePermutation()
                if permutation == "reverse"
                else InvertibleConv1x1(in_channels, generator=generator)
            )
            steps.append(FlowStep(in_channels, perm, AffineCoupling(in_channels, subnet)))
        self.steps = nn.ModuleList(steps)

    @property
    def curvature(self) -> float | None:
        """Current curvature c of the Poincaré ball, or None without one."""
        return None if self.ball is None else float(self.ball.c.detach())

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[3] != self.n_joints:
            raise ValueError(
                f"x must have shape (batch, {self.in_channels}, frames, {self.n_joints}) for "
                f"layout {self.graph.name!r}, got {tuple(x.shape)}"
            )
        if x.shape[2] < self.temporal_kernel:
            raise ValueError(
                f"x has {x.shape[2]} frames but the flow needs at least "
                f"temporal_kernel={self.temporal_kernel}"
            )

    def transform(
        self, x: torch.Tensor, per_position: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Forward pass returning ``(z, logdet, distance)``.

        ``logdet`` has shape ``(B,)``, or ``(B, T, V)`` with ``per_position=True``:
        every layer's log-determinant split over the frame/joint positions it
        acts on (couplings: their log-scales summed over channels; ActNorm and
        permutations: equal shares), so it sums to the ``(B,)`` value.
        ``distance`` is each sample's Poincaré distance of its hyperbolic node
        embeddings from the origin, averaged over nodes and coupling layers, or
        None when space="euclidean".
        """
        self._check_input(x)
        logdet = x.new_zeros((x.shape[0], x.shape[2], x.shape[3]) if per_position else x.shape[0])
        distances = []
        for step in self.steps:
            x, ld, aux = step.transform(x, per_position=per_position)
            logdet = logdet + ld
            if aux is not None:
                distances.append(aux)
        distance = torch.stack(distances).mean(dim=0) if distances else None
        return x, logdet, distance

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map segments to latents: ``(z, logdet)`` with one log-det per sample."""
        z, logdet, _ = self.transform(x)
        return z, logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents back to segments."""
        self._check_input(z)
        for step in reversed(self.steps):
            z = step.inverse(z)
        return z

    @staticmethod
    def prior_log_prob(z: torch.Tensor) -> torch.Tensor:
        """Standard normal log-density of each sample of ``z`` (nats)."""
        return -0.5 * (z.pow(2) + _LOG_2PI).flatten(1).sum(dim=1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log-likelihood of each segment, in nats."""
        z, logdet = self(x)
        return self.prior_log_prob(z) + logdet

    def joint_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Each joint's share of the log-likelihood, ``(B, V)`` in nats.

        The exact ``log p(x)`` written as a sum over positions (the prior term
        of each latent position plus that position's share of every layer's
        log-determinant, see :meth:`transform`), summed over frames per joint;
        summing over joints gives :meth:`log_prob`. Every latent depends on the
        whole segment, so a share is an attribution of the likelihood to a
        body part, not a conditional density of that joint.
        """
        z, logdet, _ = self.transform(x, per_position=True)
        prior = -0.5 * (z.pow(2) + _LOG_2PI).sum(dim=1)
        return (prior + logdet).sum(dim=1)

    def nll_bpd(self, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each segment in bits per dimension (D = C*T*V)."""
        return nll_bits_per_dim(self.log_prob(x), x[0].numel())
