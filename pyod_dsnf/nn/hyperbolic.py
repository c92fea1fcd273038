"""Graph convolution on a Poincaré ball (geoopt).

Every node's H features are mapped onto the ball ``PoincareBall(c)`` with the
exponential map at the origin, transformed by a Möbius linear layer (Möbius
matrix-vector product, then Möbius addition of a bias), and aggregated over the
skeleton graph and over neighbouring frames in the tangent space at the origin.
The numerical guards are explicit:

- tangent vectors are rescaled so that ``sqrt(c) * ||u|| <= max_tangent_norm``
  before every ``expmap0`` (``tanh`` saturates to 1 in float32 near 9, which
  would put points on the boundary where ``logmap0`` is infinite);
- every point is projected back inside the ball (geoopt's ``projx``, through
  ``project=True``) after
  each map (geoopt keeps a margin of 4e-3 in float32 and 1e-5 in float64).

The bias of the Möbius linear layer is a point of the ball, a
``geoopt.ManifoldParameter`` (``bias_point``), so ``geoopt.optim.RiemannianAdam``
updates it with Riemannian steps that keep it inside the ball. Models saved
before stored it as a tangent vector at the origin (``bias``); loading such a
state dict maps it onto the ball once (:meth:`HyperbolicGraphConv.load_state_dict`
pre-hook), which is the same function.

The layer is computed in closed form on frame rows (see
:mod:`pyod_dsnf.nn.euclidean`): :meth:`HyperbolicGraphConv.forward_rows`.
"""

from __future__ import annotations

import math

import geoopt
import torch
from torch import nn

from pyod_dsnf.nn.euclidean import (
    _check_adjacency,
    block_diagonal,
    from_rows,
    to_rows,
)

#: Default bound on ``sqrt(c) * ||u||`` for tangent vectors sent through expmap0:
#: ``tanh(3) = 0.9951`` stays inside geoopt's float32 projection margin.
MAX_TANGENT_NORM = 3.0
_MIN_NORM = 1e-15  # geoopt's floor for norms and denominators


def _projection_eps(dtype: torch.dtype) -> float:
    """geoopt's margin from the ball's boundary in ``projx``."""
    return 4e-3 if dtype == torch.float32 else 1e-5


def node_ones(v: int, h: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(v*h, v)`` block matrix of ones: frame rows times it sum each joint's channels."""
    return torch.kron(torch.eye(v, dtype=dtype, device=device), torch.ones(h, 1, dtype=dtype))


def _norm(squares: torch.Tensor) -> torch.Tensor:
    """Norms from squared norms, with geoopt's floor (and a finite gradient at 0)."""
    return squares.clamp_min(_MIN_NORM**2).sqrt()


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


def weighted_shifted_sum(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """``y[:, t] = sum_j taps[j] * x[:, t + j - r]`` (zero padded), ``x`` of shape ``(B, T, F)``.

    ``taps`` has shape ``(k, F)`` (``k = 2r + 1``), one weight per column and tap.
    """
    k, t = taps.shape[0], x.shape[1]
    r = k // 2
    y = x * taps[r]
    for j in range(k):
        d = j - r
        if d == 0 or abs(d) >= t:
            continue
        y[:, max(-d, 0) : t - max(d, 0)].addcmul_(x[:, max(d, 0) : t - max(-d, 0)], taps[j])
    return y


class BallGeometry:
    """Per-forward constants of a ball: ``c``, ``sqrt(c)``, the projection bound, ...

    Attributes are 0-d tensors in the computation's dtype (they carry gradients
    to a learnable curvature): ``c``, ``sqrt_c``, ``max_norm`` (geoopt's
    ``projx`` bound ``(1 - eps) / sqrt(c)``), ``limit`` (the tangent clip bound
    ``max_tangent_norm / sqrt(c)``), ``y_cap = artanh(sqrt(c) * max_norm)``, and the
    layer's bias point ``b`` projected onto the current ball with ``b2 = ||b||^2``.
    """

    def __init__(
        self,
        ball: geoopt.PoincareBall,
        max_tangent_norm: float,
        dtype: torch.dtype,
        bias_point: torch.Tensor,
    ) -> None:
        self.b = ball.projx(bias_point).to(dtype)  # a no-op unless c changed
        self.b2 = self.b.square().sum()
        self.c = ball.c.to(dtype)
        self.sqrt_c = self.c.sqrt()
        self.max_norm = (1 - _projection_eps(dtype)) / self.sqrt_c
        self.limit = max_tangent_norm / self.sqrt_c
        self.y_cap = _artanh(self.sqrt_c * self.max_norm)


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

    The bias point ``bias_point`` lies on ``ball``; with a learnable curvature
    the ball changes under it, so every forward projects it onto the current
    ball (geoopt's ``projx``) before use, and ``RiemannianAdam``'s retraction
    projects it after every step.
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
        # The Möbius bias: a point of the ball (the origin at start).
        self.bias_point = geoopt.ManifoldParameter(torch.zeros(channels), manifold=ball)
        self.partition_weight = nn.Parameter(torch.ones(a.shape[0], channels))
        # Per-channel weights of the temporal aggregation, starting as a plain average.
        self.temporal_weight = nn.Parameter(
            torch.full((temporal_kernel, channels), 1.0 / temporal_kernel)
        )
        self.act = nn.LeakyReLU(0.2)
        self.register_load_state_dict_pre_hook(_tangent_bias_to_point)

    def to_ball(self, u: torch.Tensor) -> torch.Tensor:
        """Clip tangent vectors (last axis), map them with expmap0 and project."""
        return self.ball.expmap0(clip_tangent(u, self.ball, self.max_tangent_norm), project=True)

    def geometry(self, dtype: torch.dtype) -> BallGeometry:
        """The ball's constants (and the projected bias point) for a forward in ``dtype``."""
        return BallGeometry(self.ball, self.max_tangent_norm, dtype, self.bias_point)

    def aggregation(
        self, v: int, geo: BallGeometry
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dense matrices of the tangent-space aggregation on frame rows.

        Returns ``(agg, bias_agg, taps)``: ``agg`` of shape ``(V*H, V*H)`` aggregates
        a frame row over joints and partitions (one adjacency per channel,
        ``sum_k partition_weight[k, c] * A_k``); ``bias_agg`` of shape ``(V, V*H)``
        does the same for a row holding the bias point at each joint with a
        per-joint coefficient, so ``(alpha * w + gamma * b) @ agg = (alpha * w) @ agg
        + gamma @ bias_agg``; ``taps`` of shape ``(k, V*H)`` are the temporal
        weights tiled over the joints.
        """
        h = self.weight.shape[0]
        a = self.adjacency.to(self.weight.dtype)
        per_channel = torch.einsum("kc,kij->cij", self.partition_weight, a)  # (H, V, V)
        # agg[(j, c), (i, d)] = per_channel[c, i, j] if c == d
        eye = torch.eye(h, dtype=a.dtype, device=a.device)
        agg = torch.einsum("cij,cd->jcid", per_channel, eye).reshape(v * h, v * h)
        b = geo.b
        bias_agg = torch.einsum("cij,c->jic", per_channel, b).reshape(v, v * h)
        taps = self.temporal_weight.repeat(1, v)
        return agg, bias_agg, taps

    def row_maps(self, v: int, geo: BallGeometry) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W on frame rows (V*H, V*H), <b, W h> per joint (V*H, V))``."""
        w = self.weight
        bw = (geo.b @ w)[:, None]  # W^T b, (H, 1)
        return block_diagonal(w, v), block_diagonal(bw.T, v)

    def forward_rows(
        self,
        wh: torch.Tensor,
        bwh: torch.Tensor,
        h_sq: torch.Tensor,
        b: int,
        t: int,
        geo: BallGeometry,
        agg: tuple[torch.Tensor, torch.Tensor],
        ones: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The layer in closed form on frame rows.

        Parameters
        ----------
        wh : (B*T, V*H)
            ``W h`` per joint (the input's frame rows through :meth:`row_maps`).
        bwh : (B*T, V)
            ``<b, W h>`` per joint, ``b`` the bias point.
        h_sq : (B*T, V)
            Squared norm of ``h`` per joint.
        geo, agg, ones
            :meth:`geometry`, :meth:`aggregation` and :func:`node_ones`.

        Returns
        -------
        v : (B*T, V*H)
            The aggregated, activated tangent vectors (before the last clip).
        factor : (B*T, V)
            Per-joint factor: the layer's output is ``v * factor`` per joint
            (``logmap0(expmap0(clip(v)))``, applied by the caller, possibly after a
            per-joint linear map).
        distance : (B,)
            Mean Poincaré distance of the output embeddings from the origin.

        Notes
        -----
        Every map of the literal layer (:meth:`forward_reference` of the frozen
        reference in the tests) acts on a joint's vector only through its norm
        and its inner product with the bias point, so
        ``logmap0(W (x) expmap0(clip(h)) (+) b) = s1 * W h + s2 * b`` with per-joint
        scalars; geoopt's projections are clamps of those norms. The aggregation
        over joints and partitions is one dense product (:meth:`aggregation`), over
        frames a weighted sum of shifted rows; the last ``logmap0(projx(expmap0(u)))`` has norm
        ``min(sqrt(c) ||u||, artanh(sqrt(c) max_norm)) / sqrt(c)`` (``tanh`` is
        monotonic), so the second half needs no transcendental function.
        """
        n = wh.shape[0]
        c, sqrt_c = geo.c, geo.sqrt_c
        tiny = torch.finfo(wh.dtype).tiny
        b2 = geo.b2
        # Clip of h (a per-joint factor lam), then the Möbius matvec with its projection.
        lam = (geo.limit / _norm(h_sq).clamp_min(tiny)).clamp(max=1.0)
        w_sq = torch.mm(wh * wh, ones)  # ||W h||^2 per joint
        w_norm = _norm(lam.square() * w_sq).clamp_min(_MIN_NORM)  # ||W clip(h)||
        x_norm = torch.minimum(_tanh(sqrt_c * w_norm) / sqrt_c, geo.max_norm)
        a = x_norm / w_norm  # x = a * W clip(h)
        # Möbius addition of the bias point: z = s1 * w + s2 * b.
        x_b = a * lam * bwh  # <x, b>
        x2 = x_norm.square()
        denom = (1 + 2 * c * x_b + c.square() * x2 * b2).clamp_min(_MIN_NORM)
        s1 = (1 + 2 * c * x_b + c * b2) * a / denom
        s2 = (1 - c * x2) / denom
        z2 = s1.square() * w_norm.square() + 2 * s1 * s2 * x_b / a + s2.square() * b2
        z_norm = z2.clamp_min(0).sqrt().clamp_min(_MIN_NORM)
        projected = torch.minimum(z_norm, geo.max_norm)
        scale = _artanh(sqrt_c * projected) / (sqrt_c * z_norm)
        # logmap0(z) = alpha * W h + gamma * b per joint; aggregate over joints and frames.
        alpha, gamma = s1 * scale * lam, s2 * scale
        agg_matrix, bias_agg, taps = agg
        u = wh * torch.mm(alpha, ones.T)
        joints = torch.mm(u, agg_matrix)
        joints.addmm_(gamma, bias_agg)
        y = weighted_shifted_sum(joints.view(b, t, -1), taps)
        v = nn.functional.leaky_relu_(y, 0.2).view(n, -1)
        # Back onto the ball and out again: clip, expmap0, projx, logmap0, dist0.
        v_sq = torch.mm(v * v, ones)
        lam2 = (geo.limit / _norm(v_sq).clamp_min(tiny)).clamp(max=1.0)
        u_norm = _norm(lam2.square() * v_sq).clamp_min(_MIN_NORM)
        radius = torch.minimum(sqrt_c * u_norm, geo.y_cap) / sqrt_c  # ||logmap0(q)||
        distance = 2 * radius.view(b, -1).mean(dim=1)
        return v, lam2 * radius / u_norm, distance

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer on ``(B, H, T, V)`` tensors: ``(output, distance)``."""
        b, hdim, t, v = h.shape
        rows = to_rows(h)
        geo = self.geometry(h.dtype)
        w_matrix, bw = self.row_maps(v, geo)
        ones = node_ones(v, hdim, h.dtype, h.device)
        out, factor, distance = self.forward_rows(
            rows @ w_matrix,
            rows @ bw,
            torch.mm(rows * rows, ones),
            b,
            t,
            geo,
            self.aggregation(v, geo),
            ones,
        )
        out = out * torch.mm(factor, ones.T)
        return from_rows(out, b, t, hdim), distance


def _tangent_bias_to_point(module, state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: map an old tangent-vector ``bias`` onto the ball.

    State dicts written before the bias became a point of the ball hold
    ``prefix + "bias"``, a tangent vector at the origin that the old forward
    mapped with ``expmap0(clip(bias))`` and projected. The same map, at the
    curvature stored in the same state dict, gives the equivalent point
    ``prefix + "bias_point"``.
    """
    old, new = prefix + "bias", prefix + "bias_point"
    if old not in state_dict or new in state_dict:
        return
    tangent = state_dict.pop(old)
    ball = geoopt.PoincareBall(c=1.0)
    isp_c = state_dict.get(prefix + "ball.isp_c", module.ball.isp_c)
    with torch.no_grad():
        ball = ball.to(tangent.dtype)
        ball.isp_c.copy_(isp_c.to(tangent.dtype))
        point = ball.expmap0(clip_tangent(tangent, ball, module.max_tangent_norm), project=True)
    state_dict[new] = point
