"""Hyperbolic graph convolution: numerical guards in float32 and float64, the ball bias."""

import math

import geoopt
import pytest
import torch

from pyod_dsnf.nn.hyperbolic import (
    MAX_TANGENT_NORM,
    UNIT_BALL,
    HyperbolicGraphConv,
    clip_tangent,
    make_poincare_ball,
    unit_ball_on,
)
from tests import _reference_nn as reference
from tests._flow_helpers import chain_graph, make_flow

DTYPES = [torch.float32, torch.float64]
CURVATURES = [1e-3, 1e-1, 1.0, 10.0, 1e2]
MAGNITUDES = [1e-8, 1e-3, 1.0, 1e3]


def layer(curvature, dtype, learnable=False, channels=6, cls=HyperbolicGraphConv):
    ball = make_poincare_ball(curvature, learnable)
    adjacency = torch.as_tensor(chain_graph(5).adjacency())
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return cls(channels, adjacency, ball).to(dtype)


@pytest.mark.parametrize("c", [1e-4, 1e-3, 1.0, 88.0, 100.0, 1e3])
def test_make_poincare_ball_is_exact_for_large_and_small_curvature(c):
    ball = make_poincare_ball(c)
    assert float(ball.c) == pytest.approx(c, rel=1e-5)
    assert not ball.isp_c.requires_grad
    assert make_poincare_ball(c, learnable=True).isp_c.requires_grad


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_make_poincare_ball_rejects_bad_curvature(bad):
    with pytest.raises(ValueError, match="curvature must be a finite float > 0"):
        make_poincare_ball(bad)
    with pytest.raises(TypeError, match="curvature must be a positive float"):
        make_poincare_ball("1.0")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
def test_clip_tangent_bounds_the_norm(dtype, c):
    ball = make_poincare_ball(c).to(dtype)
    u = torch.randn(10, 8, dtype=dtype) * torch.logspace(-8, 4, 10, dtype=dtype)[:, None]
    clipped = clip_tangent(u, ball, MAX_TANGENT_NORM)
    norms = clipped.norm(dim=-1) * math.sqrt(c)
    assert (norms <= MAX_TANGENT_NORM * (1 + 1e-5)).all()
    small = u.norm(dim=-1) * math.sqrt(c) < MAX_TANGENT_NORM
    torch.testing.assert_close(clipped[small], u[small])  # only long vectors are touched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
@pytest.mark.parametrize("magnitude", MAGNITUDES)
def test_embeddings_inside_ball_and_gradients_finite(dtype, c, magnitude):
    hgc = layer(c, dtype, learnable=True)
    h = (torch.randn(3, 6, 4, 5, dtype=dtype) * magnitude).requires_grad_(True)
    points = hgc.to_ball(h.permute(0, 2, 3, 1))
    radius = 1 / math.sqrt(c)
    assert (points.norm(dim=-1) < radius).all()  # strictly inside the ball
    out, distance = hgc(h)
    assert torch.isfinite(out).all() and torch.isfinite(distance).all()
    assert (distance >= 0).all()
    (out.square().sum() + distance.sum()).backward()
    assert torch.isfinite(h.grad).all()
    for name, p in hgc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_learnable_curvature_receives_a_gradient(dtype):
    model = make_flow("dual", dtype=dtype, learn_curvature=True, curvature=0.5)
    x = torch.randn(4, 2, 4, 5, dtype=dtype)
    model.nll_bpd(x).mean().backward()
    grad = model.ball.isp_c.grad
    assert grad is not None and torch.isfinite(grad) and grad.abs() > 0


def test_temporal_aggregation_starts_as_a_centred_average():
    hgc = layer(1.0, torch.float64)
    u = torch.randn(2, 5, 5, 6, dtype=torch.float64)  # (B, T, V, H)
    with torch.no_grad():
        hgc.partition_weight.fill_(0.0)
        hgc.partition_weight[0].fill_(1.0)  # keep only the self partition
    self_weight = torch.as_tensor(chain_graph(5).adjacency()[0]).diagonal()
    columns = u.permute(3, 0, 1, 2).reshape(6, -1)  # (H, B*T*V)
    out = hgc._aggregate_channels_first(columns, 2, 5, 5).view(6, 2, 5, 5).permute(1, 2, 3, 0)
    expected = (u[:, 1] + u[:, 2] + u[:, 3]) / 3 * self_weight[None, :, None]
    torch.testing.assert_close(out[:, 2], expected)


def test_layers_share_one_ball():
    model = make_flow("dual", learn_curvature=True, n_flow_steps=3)
    balls = {id(m.ball) for m in model.modules() if isinstance(m, HyperbolicGraphConv)}
    assert balls == {id(model.ball)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
@pytest.mark.parametrize("magnitude", [1e-8, 1.0, 1e3])
def test_closed_form_matches_the_geoopt_reference(dtype, c, magnitude):
    # The literal geoopt chain of the frozen reference (tangent-vector bias), loaded
    # into the live layer through the old-state-dict conversion.
    ref = layer(c, dtype, cls=reference.HyperbolicGraphConv)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # move every parameter off its initial value
        for p in (ref.weight, ref.bias, ref.partition_weight, ref.temporal_weight):
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype))
    hgc = layer(c, dtype)
    hgc.load_state_dict(ref.state_dict())
    h = torch.randn(3, 6, 5, 5, generator=gen, dtype=dtype) * magnitude
    out, distance = hgc(h)
    ref_out, ref_distance = ref.forward_reference(h)
    tol = 1e-9 if dtype == torch.float64 else 2e-4
    scale = max(1.0, ref_out.abs().max().item())
    torch.testing.assert_close(out, ref_out, atol=tol * scale, rtol=tol)
    torch.testing.assert_close(distance, ref_distance, atol=tol * scale, rtol=tol)


def test_bias_is_a_manifold_parameter_on_a_ball():
    model = make_flow("dual", learn_curvature=True, n_flow_steps=2)
    points = [p for p in model.parameters() if isinstance(p, geoopt.ManifoldParameter)]
    assert len(points) == 2  # one bias point per hyperbolic layer
    assert all(isinstance(p.manifold, geoopt.PoincareBall) for p in points)
    names = [n for n, _ in model.named_parameters()]
    assert not any(n.endswith("hyperbolic.bias") for n in names)


@pytest.mark.parametrize("dtype", DTYPES)
def test_old_tangent_bias_loads_as_the_same_point(dtype):
    ref = layer(0.7, dtype, cls=reference.HyperbolicGraphConv)
    with torch.no_grad():
        ref.bias.copy_(torch.tensor([0.3, -2.0, 5.0, 0.1, 0.0, -0.4], dtype=dtype))  # clipped
    hgc = layer(0.7, dtype)
    hgc.load_state_dict(ref.state_dict())
    torch.testing.assert_close(hgc.bias_on_ball().detach(), ref.to_ball(ref.bias).detach())
    assert set(hgc.state_dict()) == set(ref.state_dict()) - {"bias"} | {"bias_point"}
    # A new-format state dict loads as it is.
    again = layer(0.7, dtype)
    again.load_state_dict(hgc.state_dict())
    torch.testing.assert_close(again.bias_point, hgc.bias_point)


@pytest.mark.parametrize("learn_curvature", [False, True])
def test_riemannian_adam_keeps_the_bias_point_inside_the_ball(learn_curvature):
    model = make_flow(
        "hyperbolic", "reverse", torch.float32, learn_curvature=learn_curvature, curvature=2.0
    )
    model.train()
    optimizer = geoopt.optim.RiemannianAdam(model.parameters(), lr=0.5)
    x = torch.randn(8, 2, 4, 5, generator=torch.Generator().manual_seed(0))
    points = [p for p in model.parameters() if isinstance(p, geoopt.ManifoldParameter)]
    start = [p.detach().clone() for p in points]
    for _ in range(30):
        optimizer.zero_grad()
        loss = -model.log_prob(x).mean() - sum(p.sum() * 100 for p in points)  # push outwards
        loss.backward()
        optimizer.step()
    for p, p0 in zip(points, start, strict=True):
        assert not torch.equal(p.detach(), p0)  # it moved
        assert torch.isfinite(p).all() and float(p.detach().norm()) < 1  # inside the unit ball
    radius = 1 / math.sqrt(float(model.ball.c.detach()))
    for m in model.modules():
        if hasattr(m, "bias_on_ball"):  # and its image strictly inside the model's ball
            assert float(m.bias_on_ball().detach().norm()) < radius
    assert torch.isfinite(model.log_prob(x)).all()


def _bias_points(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.endswith("bias_point")]


def test_the_bias_manifold_follows_the_model():
    """``.to`` moves or casts the bias's unit ball with it (``.cuda()`` in tests/test_gpu.py)."""
    model = make_flow("dual", learn_curvature=True, n_flow_steps=2)
    model.double()
    points = _bias_points(model)
    assert len(points) == 2
    for p in points:
        assert isinstance(p, geoopt.ManifoldParameter) and p.dtype == torch.float64
        ball = p.manifold
        assert isinstance(ball, geoopt.PoincareBall) and float(ball.c) == 1.0
        assert (ball.isp_c.device, ball.isp_c.dtype) == (p.device, p.dtype)
    model.float()
    assert all(p.manifold is UNIT_BALL for p in _bias_points(model))  # the shared CPU ball
    assert UNIT_BALL.isp_c.dtype == torch.float32  # never cast by a model


def test_unit_ball_on_is_one_copy_per_device_and_dtype():
    a = unit_ball_on(torch.device("cpu"), torch.float64)
    assert a is unit_ball_on(torch.device("cpu"), torch.float64) and a is not UNIT_BALL
    assert unit_ball_on(torch.device("cpu"), torch.float32) is UNIT_BALL
