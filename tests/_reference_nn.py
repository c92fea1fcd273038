"""Frozen copy of the coupling networks and the flow as they were before the fused rewrite.

Test-only reference (main at commit e6fc042): ``pyod_dsnf/nn/euclidean.py``,
``hyperbolic.py`` and ``dual.py`` and ``pyod_dsnf/flow/{actnorm,coupling,permutation,model}.py``
copied verbatim apart from imports, so the tests can check that the fused
implementation computes the same function (``tests/test_nn_reference.py``).
The hyperbolic bias is a tangent vector at the origin here (the old state-dict
format). Do not edit: it is the definition of "the same function".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import geoopt
import torch
from torch import nn

from pyod_dsnf.poses.skeletons import SkeletonGraph, get_layout

# ---------------------------------------------------------------- nn/euclidean.py


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


# ---------------------------------------------------------------- nn/hyperbolic.py


#: Default bound on ``sqrt(c) * ||u||`` for tangent vectors sent through expmap0:
#: ``tanh(3) = 0.9951`` stays inside geoopt's float32 projection margin.
MAX_TANGENT_NORM = 3.0
_MIN_NORM = 1e-15  # geoopt's floor for norms and denominators


def _projection_eps(dtype: torch.dtype) -> float:
    """geoopt's margin from the ball's boundary in ``projx``."""
    return 4e-3 if dtype == torch.float32 else 1e-5


def _channel_norm(u: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of the columns of an ``(H, N)`` matrix, shape ``(1, N)``.

    A matmul with a row of ones: on CPU, reducing the channel axis this way is
    several times faster than ``u.norm(dim=0)``.
    """
    squares = torch.mm(u.new_ones(1, u.shape[0]), u * u)
    return squares.clamp_min(_MIN_NORM**2).sqrt()  # finite gradient at 0


def _tanh(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(-15, 15).tanh()


def _artanh(x: torch.Tensor) -> torch.Tensor:
    # geoopt's clamp; torch.atanh is one pass where 0.5 * (log1p(x) - log1p(-x)) is four.
    return x.clamp(-1 + 1e-7, 1 - 1e-7).atanh()


def make_poincare_ball(curvature: float, learnable: bool = False) -> geoopt.PoincareBall:
    """A Poincaré ball of curvature ``-curvature`` (``curvature > 0``).

    geoopt stores the curvature through an inverse softplus computed as
    ``log(exp(c) - 1)``, which overflows to ``inf`` in float32 for ``c`` above
    about 88; this helper sets it with the stable form
    ``c + log(1 - exp(-c))`` instead, so large curvatures are exact too.

    Parameters
    ----------
    curvature : float
        The ball's curvature magnitude c > 0 (the ball has radius 1/sqrt(c)).
    learnable : bool, default=False
        Whether c is a trainable parameter.
    """
    if isinstance(curvature, bool) or not isinstance(curvature, (int, float)):
        raise TypeError(f"curvature must be a positive float, got {type(curvature).__name__}")
    c = float(curvature)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"curvature must be a finite float > 0, got {curvature!r}")
    ball = geoopt.PoincareBall(c=1.0, learnable=learnable)
    with torch.no_grad():
        ball.isp_c.fill_(c + math.log(-math.expm1(-c)))
    return ball


def clip_tangent(u: torch.Tensor, ball: geoopt.PoincareBall, max_norm: float) -> torch.Tensor:
    """Rescale tangent vectors (last axis) so that ``sqrt(c) * ||u|| <= max_norm``."""
    limit = max_norm / ball.c.to(u.dtype).sqrt()
    norm = u.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(u.dtype).tiny)
    return u * (limit / norm).clamp(max=1.0)


class HyperbolicGraphConv(nn.Module):
    """Hyperbolic spatio-temporal graph convolution.

    Parameters
    ----------
    channels : int
        Feature size H (input and output).
    adjacency : array-like of shape (K, V, V)
        Partitioned adjacency of the skeleton; each partition gets a learned
        per-channel weight in the tangent-space aggregation.
    ball : geoopt.PoincareBall
        The manifold, shared by every layer of a model (so a learnable
        curvature is one parameter).
    temporal_kernel : int, default=3
        Odd number of frames averaged (with learned per-channel weights) in the
        tangent-space temporal aggregation.
    max_tangent_norm : float, default=3.0
        Bound on ``sqrt(c) * ||u||`` before each exponential map.

    Notes
    -----
    ``forward`` takes and returns Euclidean tensors laid out ``(B, H, T, V)``
    and also returns each sample's mean Poincaré distance of its output node
    embeddings from the origin (used by the AWAM loss).
    """

    def __init__(
        self,
        channels: int,
        adjacency: torch.Tensor,
        ball: geoopt.PoincareBall,
        temporal_kernel: int = 3,
        max_tangent_norm: float = MAX_TANGENT_NORM,
    ) -> None:
        super().__init__()
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(
                f"temporal_kernel must be a positive odd integer, got {temporal_kernel}"
            )
        if not max_tangent_norm > 0:
            raise ValueError(f"max_tangent_norm must be > 0, got {max_tangent_norm}")
        a = _check_adjacency(adjacency)
        self.register_buffer("adjacency", a)
        self.ball = ball
        self.max_tangent_norm = float(max_tangent_norm)
        self.weight = nn.Parameter(torch.empty(channels, channels))
        nn.init.orthogonal_(self.weight)
        # Bias as a tangent vector at the origin, mapped onto the ball in forward.
        self.bias = nn.Parameter(torch.zeros(channels))
        self.partition_weight = nn.Parameter(torch.ones(a.shape[0], channels))
        # Per-channel weights of the temporal aggregation, starting as a plain average.
        self.temporal_weight = nn.Parameter(
            torch.full((temporal_kernel, channels), 1.0 / temporal_kernel)
        )
        self.act = nn.LeakyReLU(0.2)

    def to_ball(self, u: torch.Tensor) -> torch.Tensor:
        """Clip tangent vectors (last axis), map them with expmap0 and project."""
        return self.ball.expmap0(clip_tangent(u, self.ball, self.max_tangent_norm), project=True)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Closed-form evaluation of :meth:`forward_reference` (same maths, fewer passes).

        Every map of the reference acts on a node's feature vector only through
        its norm and its inner product with the bias point, so the chain
        ``expmap0 -> mobius_matvec -> mobius_add -> logmap0`` reduces to
        ``s1 * (W u) + s2 * b`` with two per-node scalars ``s1, s2``; geoopt's
        projections become clamps of those norms. Working channels-first, the
        full-size tensors see a handful of passes instead of about a hundred.
        The layer computes on the ``(H, B*T*V)`` matrix of ``h`` (see
        :mod:`pyod_dsnf.nn.euclidean`), so each node's features are a column
        and the per-node scalars are ``(1, B*T*V)`` rows.
        ``tests/test_nn_hyperbolic.py`` checks both paths agree in float32 and
        float64 over curvatures 1e-3 to 1e2.
        """
        ball = self.ball
        c = ball.c.to(h.dtype)
        sqrt_c = c.sqrt()
        max_norm = (1 - _projection_eps(h.dtype)) / sqrt_c  # geoopt's projx bound
        # Möbius linear layer: W (x) expmap0(u) == expmap0(W u) exactly, so project its norm.
        bsz, _, t, v = h.shape
        w = torch.mm(self.weight, self._clip(channels_first(h), sqrt_c))  # (H, N)
        w_norm = _channel_norm(w).clamp_min(_MIN_NORM)
        x_norm = torch.minimum(_tanh(sqrt_c * w_norm) / sqrt_c, max_norm)  # ||expmap0(Wu)||
        a = x_norm / w_norm  # x = a * w
        # Möbius addition of the bias point b: z = s1 * w + s2 * b.
        b = self.to_ball(self.bias)[:, None]  # (H, 1)
        x_b = a * torch.mm(b.T, w)  # <x, b>
        x2, b2 = x_norm.square(), b.square().sum()
        denom = (1 + 2 * c * x_b + c.square() * x2 * b2).clamp_min(_MIN_NORM)
        s1 = (1 + 2 * c * x_b + c * b2) * a / denom
        s2 = (1 - c * x2) / denom
        z2 = s1.square() * w_norm.square() + 2 * s1 * s2 * x_b / a + s2.square() * b2
        z_norm = z2.clamp_min(0).sqrt().clamp_min(_MIN_NORM)
        projected = torch.minimum(z_norm, max_norm)
        # logmap0 of the projected point: two passes over the full-size tensors.
        scale = _artanh(sqrt_c * projected) / (sqrt_c * z_norm)
        u = torch.addcmul(b * (s2 * scale), w, s1 * scale)
        # Tangent-space aggregation over joints then frames, nonlinearity.
        u = self.act(self._aggregate_channels_first(u, bsz, t, v))
        # Back onto the ball and out again: expmap0 -> projx -> logmap0 and dist0.
        u = self._clip(u, sqrt_c)
        u_norm = _channel_norm(u).clamp_min(_MIN_NORM)
        q_norm = torch.minimum(_tanh(sqrt_c * u_norm) / sqrt_c, max_norm)
        radius = _artanh(sqrt_c * q_norm) / sqrt_c  # ||logmap0(q)||; dist0(q) = 2 * radius
        distance = 2 * radius.view(bsz, t * v).mean(dim=1)
        return from_channels_first(u * (radius / u_norm), bsz, t, v), distance

    def _clip(self, u: torch.Tensor, sqrt_c: torch.Tensor) -> torch.Tensor:
        limit = self.max_tangent_norm / sqrt_c
        norm = _channel_norm(u).clamp_min(torch.finfo(u.dtype).tiny)
        return u * (limit / norm).clamp(max=1.0)

    def _aggregate_channels_first(self, u: torch.Tensor, b: int, t: int, v: int) -> torch.Tensor:
        """:meth:`aggregate` on the ``(H, B*T*V)`` matrix of ``(B, H, T, V)`` features.

        Both sums act per channel, so the partitions fold into one adjacency per
        channel, ``sum_k alpha[k, c] * A_k``, and the joints are aggregated by a
        single batched matmul over the contiguous joint axis.
        """
        h = u.shape[0]
        a = self.adjacency.to(u.dtype)
        # (H, V, V), transposed for a product from the right: A_c^T.
        per_channel = torch.einsum("kc,kij->cji", self.partition_weight, a)
        out = torch.bmm(u.view(h, b * t, v), per_channel).view(h, b, t, v)
        # Per-channel weighted sum over neighbouring frames (zero padded at the ends).
        r = self.temporal_weight.shape[0] // 2
        y = out * self.temporal_weight[r][:, None, None, None]
        return _add_shifted_taps(y, out, r, self.temporal_weight).view(h, -1)

    def aggregate(self, u: torch.Tensor) -> torch.Tensor:
        """Tangent-space aggregation of ``u`` (B, T, V, H) over joints, then frames."""
        b, t, v, h = u.shape
        k = self.adjacency.shape[0]
        a = self.adjacency.to(u.dtype).reshape(k * v, v)
        # (B*T, K*V, H): every partition's messages, weighted per partition and channel.
        msg = torch.matmul(a, u.reshape(b * t, v, h)).view(b, t, k, v, h)
        u = (msg * self.partition_weight[:, None, :]).sum(dim=2)
        # Weighted sum over neighbouring frames (zero padded at the segment's ends).
        r = self.temporal_weight.shape[0] // 2
        padded = nn.functional.pad(u, (0, 0, 0, 0, r, r))
        out = padded[:, 0:t] * self.temporal_weight[0]
        for j in range(1, 2 * r + 1):
            out = out + padded[:, j : j + t] * self.temporal_weight[j]
        return out

    def forward_reference(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer written step by step with geoopt's manifold operations.

        Slow (channels-last, about a hundred full-size passes) but literal;
        :meth:`forward` computes the same function in closed form.
        """
        ball = self.ball
        # Channels last and contiguous: every manifold operation reduces over the last axis.
        x = self.to_ball(h.permute(0, 2, 3, 1).contiguous())  # (B, T, V, H) on the ball
        # Mobius linear layer; geoopt projects onto the ball after each map (project=True).
        x = ball.mobius_matvec(self.weight, x, project=True)
        x = ball.mobius_add(x, self.to_ball(self.bias), project=True)
        u = self.act(self.aggregate(ball.logmap0(x)))
        y = self.to_ball(u)
        distance = ball.dist0(y).mean(dim=(1, 2))
        return ball.logmap0(y).permute(0, 3, 1, 2), distance


# ---------------------------------------------------------------- nn/dual.py


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


# ---------------------------------------------------------------- flow/actnorm.py


class ActNorm(nn.Module):
    """Per-channel affine map ``y = (x + bias) * exp(log_scale)``.

    The first batch seen in training mode sets ``bias`` and ``log_scale`` so
    that this batch comes out with zero mean and unit standard deviation per
    channel; afterwards both are ordinary trainable parameters.

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

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set bias and scale from the batch ``x`` (no gradient flows)."""
        x = x.detach()
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialized):
            self.initialize(x)
        y = (x + self.bias) * torch.exp(self.log_scale)
        logdet = self.log_scale.sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(-self.log_scale) - self.bias


# ---------------------------------------------------------------- flow/coupling.py


SubnetConstructor = Callable[[int, int], nn.Module]


class AffineCoupling(nn.Module):
    """Affine coupling: ``y_b = (x_b + shift(x_a)) * scale(x_a)``, ``y_a = x_a``.

    The channels are split into ``x_a`` (the first ``channels // 2``) and
    ``x_b``; the subnet maps ``x_a`` to ``2 * len(x_b)`` channels, read as
    shift (even channels) and pre-scale ``s`` (odd channels), and
    ``scale = sigmoid(s + 2) + eps`` keeps every step's scale in
    ``(eps, 1 + eps)``, which keeps training stable.

    Parameters
    ----------
    channels : int
        Number of channels C (at least 2).
    subnet_constructor : callable
        ``subnet_constructor(in_channels, out_channels)`` returns an
        ``nn.Module`` whose forward returns either a tensor or a tuple
        ``(tensor, aux)``; ``aux`` (for instance the hyperbolic distances of
        :class:`pyod_dsnf.nn.DualSpaceGCN`) is passed through by
        :meth:`transform`.
    eps : float, default=1e-6
        Lower bound of the scale.
    """

    def __init__(
        self, channels: int, subnet_constructor: SubnetConstructor, eps: float = 1e-6
    ) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(f"an affine coupling needs at least 2 channels, got {channels}")
        self.split = channels // 2
        self.subnet = subnet_constructor(self.split, 2 * (channels - self.split))
        self.eps = eps

    def _scale_shift(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, object]:
        out = self.subnet(x_a)
        out, aux = out if isinstance(out, tuple) else (out, None)
        shift, s = out[:, 0::2], out[:, 1::2]
        return torch.sigmoid(s + 2.0) + self.eps, shift, aux

    def transform(
        self, x: torch.Tensor, per_position: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, object]:
        """Forward pass returning ``(y, logdet, aux)``.

        ``logdet`` has one value per sample, or with ``per_position=True`` one
        per position ``(B, T, V)`` (the log-scales summed over channels only).
        """
        x_a, x_b = x[:, : self.split], x[:, self.split :]
        scale, shift, aux = self._scale_shift(x_a)
        y_b = (x_b + shift) * scale
        log_scale = torch.log(scale)
        logdet = log_scale.sum(dim=1) if per_position else log_scale.flatten(1).sum(dim=1)
        return torch.cat([x_a, y_b], dim=1), logdet, aux

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, logdet, _ = self.transform(x)
        return y, logdet

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        y_a, y_b = y[:, : self.split], y[:, self.split :]
        scale, shift, _ = self._scale_shift(y_a)
        return torch.cat([y_a, y_b / scale - shift], dim=1)


# ---------------------------------------------------------------- flow/permutation.py


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


# ---------------------------------------------------------------- flow/model.py


PERMUTATIONS = ("reverse", "invconv")
_LOG_2PI = math.log(2 * math.pi)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


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
        return -self.log_prob(x) / (x[0].numel() * math.log(2))
