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

The bias of the Möbius linear layer is a point of the ball, stored as a
``geoopt.ManifoldParameter`` (``bias_point``) on the unit ball ``PoincareBall(1)``
and used as ``bias_point / sqrt(c)`` on the model's ball: scaling by
``1 / sqrt(c)`` maps the unit ball onto the ball of curvature ``-c`` (distances
scale by ``1 / sqrt(c)``, Möbius operations commute with it), so
``geoopt.optim.RiemannianAdam`` takes Riemannian steps whose retraction keeps
the point inside, and the point stays valid when a learnable curvature changes
(a point stored on the model's ball would fall outside it when ``c`` grows).
Models saved before stored a tangent vector at the origin (``bias``) that the
forward mapped with ``expmap0``; a load-state-dict pre-hook maps such a vector
onto the ball once, which gives the same function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import geoopt
import torch
from torch import nn

from pyod_dsnf.nn.euclidean import (
    _add_shifted_taps,
    _check_adjacency,
    channels_first,
    from_channels_first,
)

#: Default bound on ``sqrt(c) * ||u||`` for tangent vectors sent through expmap0:
#: ``tanh(3) = 0.9951`` stays inside geoopt's float32 projection margin.
MAX_TANGENT_NORM = 3.0
_MIN_NORM = 1e-15  # geoopt's floor for norms and denominators
#: The manifold of the stored bias points (curvature -1; see the module docstring).
UNIT_BALL = geoopt.PoincareBall(c=1.0)
_UNIT_BALLS: dict[tuple[torch.device, torch.dtype], geoopt.PoincareBall] = {}


def unit_ball_on(device: torch.device, dtype: torch.dtype) -> geoopt.PoincareBall:
    """The unit ball (:data:`UNIT_BALL`) with its curvature on ``device`` in ``dtype``.

    One shared, never-moved copy per (device, dtype): the manifold of a
    ``bias_point`` on that device (see :meth:`HyperbolicGraphConv._apply`).
    """
    key = (torch.device(device), dtype)
    if key == (torch.device("cpu"), UNIT_BALL.isp_c.dtype):
        return UNIT_BALL
    if key not in _UNIT_BALLS:
        ball = geoopt.PoincareBall(c=1.0).to(device=key[0], dtype=dtype)
        with torch.no_grad():  # c = softplus(isp_c) = 1 in this dtype, not float32's 1 cast
            ball.isp_c.fill_(math.log(math.expm1(1.0)))
        _UNIT_BALLS[key] = ball
    return _UNIT_BALLS[key]



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

    ``bias_point`` lies on the unit ball and is used scaled onto ``ball``
    (:meth:`bias_on_ball`), so it stays valid whatever the curvature;
    ``RiemannianAdam``'s retraction keeps it inside the unit ball.
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
        # The Möbius bias: a point of the unit ball, scaled onto `ball` (starts at the origin).
        self.bias_point = geoopt.ManifoldParameter(torch.zeros(channels), manifold=UNIT_BALL)
        self.partition_weight = nn.Parameter(torch.ones(a.shape[0], channels))
        # Per-channel weights of the temporal aggregation, starting as a plain average.
        self.temporal_weight = nn.Parameter(
            torch.full((temporal_kernel, channels), 1.0 / temporal_kernel)
        )
        self.act = nn.LeakyReLU(0.2)
        self.register_load_state_dict_pre_hook(_tangent_bias_to_point)

    def _apply(
        self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True
    ) -> HyperbolicGraphConv:
        """Move or cast the layer (``.to``, ``.cuda``, ``.double``) and its bias's manifold too.

        ``bias_point``'s manifold is not a submodule (it is shared, and its curvature
        is no weight), so torch leaves it where it was: ``RiemannianAdam``'s steps
        would then read a CPU curvature on a GPU. After the move the manifold is the
        unit ball on the bias's device and dtype (a ``.to("meta")``, where torch makes
        the bias a plain parameter, keeps no manifold).
        """
        super()._apply(fn, recurse)
        point = self.bias_point
        if isinstance(point, geoopt.ManifoldParameter):
            point.manifold = unit_ball_on(point.device, point.dtype)
        return self

    def bias_on_ball(self) -> torch.Tensor:
        """The bias point on the model's ball: ``projx(bias_point / sqrt(c))``.

        The projection is geoopt's margin for the computation's dtype (a no-op
        for points the optimizer keeps inside the unit ball in float64).
        """
        return self.ball.projx(self.bias_point / self.ball.c.to(self.bias_point.dtype).sqrt())

    def to_ball(self, u: torch.Tensor) -> torch.Tensor:
        """Clip tangent vectors (last axis), map them with expmap0 and project."""
        return self.ball.expmap0(clip_tangent(u, self.ball, self.max_tangent_norm), project=True)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer in closed form: ``(output, distance)``.

        Written step by step with geoopt's manifold operations (``expmap0`` of
        the clipped input, ``mobius_matvec``, ``mobius_add`` of the bias point,
        ``logmap0``, aggregation, ``expmap0``, ``logmap0`` and ``dist0``, each
        map projected) the layer makes about a hundred passes over the
        features. Every map of that chain acts on a node's feature vector only through
        its norm and its inner product with the bias point, so the chain
        ``expmap0 -> mobius_matvec -> mobius_add -> logmap0`` reduces to
        ``s1 * (W u) + s2 * b`` with two per-node scalars ``s1, s2``; geoopt's
        projections become clamps of those norms. Working channels-first, the
        full-size tensors see a handful of passes instead of about a hundred.
        The layer computes on the ``(H, B*T*V)`` matrix of ``h`` (see
        :mod:`pyod_dsnf.nn.euclidean`), so each node's features are a column
        and the per-node scalars are ``(1, B*T*V)`` rows.
        ``tests/test_nn_hyperbolic.py`` checks it against that literal geoopt
        chain (the frozen ``forward_reference`` in ``tests/_reference_nn.py``)
        in float32 and float64 over curvatures 1e-3 to 1e2.
        """
        ball = self.ball
        c = ball.c.to(h.dtype)
        sqrt_c = c.sqrt()
        max_norm = (1 - _projection_eps(h.dtype)) / sqrt_c  # geoopt's projx bound
        # Möbius linear layer: W (x) expmap0(u) == expmap0(W u) exactly, so project its norm.
        # The clip of h is a per-node factor lam, kept as a scalar: w = lam * (W h).
        bsz, _, t, v = h.shape
        limit = self.max_tangent_norm / sqrt_c
        h_cols = channels_first(h)
        lam = (limit / _channel_norm(h_cols).clamp_min(torch.finfo(h.dtype).tiny)).clamp(max=1.0)
        wh = torch.mm(self.weight, h_cols)  # (H, N)
        w_norm = (lam * _channel_norm(wh)).clamp_min(_MIN_NORM)
        x_norm = torch.minimum(_tanh(sqrt_c * w_norm) / sqrt_c, max_norm)  # ||expmap0(Wu)||
        a = x_norm / w_norm  # x = a * w
        # Möbius addition of the bias point b: z = s1 * w + s2 * b.
        b = self.bias_on_ball().to(h.dtype)[:, None]  # (H, 1)
        x_b = a * lam * torch.mm(b.T, wh)  # <x, b>
        x2, b2 = x_norm.square(), b.square().sum()
        denom = (1 + 2 * c * x_b + c.square() * x2 * b2).clamp_min(_MIN_NORM)
        s1 = (1 + 2 * c * x_b + c * b2) * a / denom
        s2 = (1 - c * x2) / denom
        z2 = s1.square() * w_norm.square() + 2 * s1 * s2 * x_b / a + s2.square() * b2
        z_norm = z2.clamp_min(0).sqrt().clamp_min(_MIN_NORM)
        projected = torch.minimum(z_norm, max_norm)
        # logmap0 of the projected point: two passes over the full-size tensors.
        scale = _artanh(sqrt_c * projected) / (sqrt_c * z_norm)
        u = torch.addcmul(b * (s2 * scale), wh, s1 * scale * lam)
        # Tangent-space aggregation over joints then frames, nonlinearity.
        u = self.act(self._aggregate_channels_first(u, bsz, t, v))
        # Back onto the ball and out again: expmap0 -> projx -> logmap0 and dist0. tanh is
        # monotonic, so artanh(sqrt_c * min(tanh(y) / sqrt_c, max_norm)) = min(y, y_cap):
        # the norm of logmap0(projx(expmap0(u))) needs no transcendental function.
        # The clip is again a per-node factor, folded into the one final scaling.
        u_raw = _channel_norm(u)
        lam = (limit / u_raw.clamp_min(torch.finfo(u.dtype).tiny)).clamp(max=1.0)
        u_norm = (lam * u_raw).clamp_min(_MIN_NORM)  # norm of the clipped vector
        y_cap = _artanh(sqrt_c * max_norm)
        radius = torch.minimum(sqrt_c * u_norm, y_cap) / sqrt_c  # dist0(q) = 2 * radius
        distance = 2 * radius.view(bsz, t * v).mean(dim=1)
        return from_channels_first(u * (lam * radius / u_norm), bsz, t, v), distance

    def _aggregate_channels_first(self, u: torch.Tensor, b: int, t: int, v: int) -> torch.Tensor:
        """Tangent-space aggregation over joints, then frames, of ``(H, B*T*V)`` features.

        ``v_i <- sum_k alpha_k * sum_j A_k[i, j] v_j`` per channel, then a
        per-channel weighted sum over ``temporal_kernel`` neighbouring frames
        (zero padded). Both sums act per channel, so the partitions fold into one adjacency per
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


def _tangent_bias_to_point(module, state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: map an old tangent-vector ``bias`` onto the ball.

    State dicts written before the bias became a point of the ball hold
    ``prefix + "bias"``, a tangent vector at the origin that the old forward
    mapped with ``expmap0(clip(bias))`` and projected. The same map at the
    curvature stored in the same state dict, scaled by ``sqrt(c)`` onto the
    unit ball, gives the equivalent ``prefix + "bias_point"``.
    """
    old, new = prefix + "bias", prefix + "bias_point"
    if old not in state_dict or new in state_dict:
        return
    tangent = state_dict.pop(old)
    isp_c = state_dict.get(prefix + "ball.isp_c", module.ball.isp_c)
    ball = geoopt.PoincareBall(c=1.0).to(tangent.dtype)
    with torch.no_grad():
        ball.isp_c.copy_(isp_c)
        point = ball.expmap0(clip_tangent(tangent, ball, module.max_tangent_norm), project=True)
        state_dict[new] = point * ball.c.sqrt()
