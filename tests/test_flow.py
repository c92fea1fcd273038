"""Flow steps and DSNFlow: invertibility, exact log-det, ActNorm initialisation."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pyod_dsnf.flow import ActNorm, AffineCoupling, DSNFlow, InvertibleConv1x1
from pyod_dsnf.flow.summary import count_parameters, parameter_table
from tests._flow_helpers import make_flow

SPACES = ["dual", "euclidean", "hyperbolic"]
PERMUTATIONS = ["reverse", "invconv"]
DTYPES = [torch.float64, torch.float32]
# (atol, rtol) of the inverse round trip and of the log-det check, per dtype
TOL = {torch.float64: (1e-9, 1e-9), torch.float32: (2e-4, 1e-4)}

grid = pytest.mark.parametrize(
    ("space", "permutation", "dtype"),
    [(s, p, d) for s in SPACES for p in PERMUTATIONS for d in DTYPES],
    ids=lambda v: str(v).replace("torch.", ""),
)


@grid
def test_inverse_round_trip(space, permutation, dtype):
    model = make_flow(space, permutation, dtype)
    x = torch.randn(8, 2, 4, 5, dtype=dtype, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        z, logdet = model(x)
        x_back = model.inverse(z)
    assert z.shape == x.shape and logdet.shape == (8,)
    assert not torch.allclose(z, x, atol=1e-2)  # the flow is not the identity
    atol, rtol = TOL[dtype]
    torch.testing.assert_close(x_back, x, atol=atol, rtol=rtol)


@grid
def test_logdet_matches_autograd_jacobian(space, permutation, dtype):
    model = make_flow(space, permutation, dtype)
    x = torch.randn(1, 2, 4, 5, dtype=dtype, generator=torch.Generator().manual_seed(2))

    def f(flat):
        return model(flat.view(1, 2, 4, 5))[0].flatten()

    jac = torch.autograd.functional.jacobian(f, x.flatten())
    assert jac.shape == (40, 40)
    sign, expected = torch.linalg.slogdet(jac.double())
    assert sign != 0
    _, logdet = model(x)
    atol = 1e-8 if dtype == torch.float64 else 2e-3
    assert logdet.item() == pytest.approx(expected.item(), abs=atol, rel=atol)


@grid
def test_log_prob_and_bits_per_dim(space, permutation, dtype):
    model = make_flow(space, permutation, dtype)
    x = torch.randn(3, 2, 4, 5, dtype=dtype)
    z, logdet = model(x)
    expected = -0.5 * (z**2 + math.log(2 * math.pi)).flatten(1).sum(1) + logdet
    torch.testing.assert_close(model.log_prob(x), expected)
    torch.testing.assert_close(model.nll_bpd(x), -expected / (40 * math.log(2)))


def test_actnorm_first_batch_is_standardised():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, 6, 5, generator=gen) * torch.tensor([0.1, 5.0, 30.0]).view(1, 3, 1, 1)
    x = x + torch.tensor([-4.0, 0.0, 100.0]).view(1, 3, 1, 1)
    norm = ActNorm(3).train()
    y, logdet = norm(x)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(
        y.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4, rtol=0
    )
    assert bool(norm.initialized)
    # later batches do not re-initialise; log-det is per sample
    y2, _ = norm(x * 2)
    assert y2.std() > 1.5
    assert logdet.shape == (64,)
    torch.testing.assert_close(norm.inverse(y), x, atol=1e-3, rtol=1e-5)


def test_actnorm_reads_its_buffer_again_only_after_load_state_dict():
    """It remembers that it is initialised (no GPU read per forward) until weights are loaded."""
    norm = ActNorm(2).train()
    fresh = {k: v.clone() for k, v in norm.state_dict().items()}
    norm(torch.randn(8, 2, 3, 3))
    assert norm.is_initialized() and norm._known_initialized
    norm.load_state_dict(fresh)  # an uninitialised state: the next training batch sets it
    assert not norm.is_initialized()
    x = torch.randn(8, 2, 3, 3) * 5 + 3
    y, _ = norm(x)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-4, rtol=0)


def test_actnorm_not_initialised_in_eval_mode():
    norm = ActNorm(2).eval()
    x = torch.randn(4, 2, 3, 3) * 10
    y, logdet = norm(x)
    torch.testing.assert_close(y, x)
    assert not bool(norm.initialized) and torch.all(logdet == 0)


def test_invconv_starts_orthogonal_and_is_seeded():
    a = InvertibleConv1x1(4, generator=torch.Generator().manual_seed(3))
    b = InvertibleConv1x1(4, generator=torch.Generator().manual_seed(3))
    w = a.weight()
    torch.testing.assert_close(w @ w.T, torch.eye(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(w, b.weight())


def test_coupling_scale_is_bounded_and_identity_at_start():
    flow = DSNFlow(graph="coco17", n_frames=6, n_flow_steps=1, hidden_channels=4).eval()
    x = torch.randn(2, 2, 6, 17)
    coupling = flow.steps[0].coupling
    y, logdet = coupling(x)
    # zero-initialised last layer: shift 0, scale sigmoid(2) for every element
    torch.testing.assert_close(y[:, 1:], x[:, 1:] * torch.sigmoid(torch.tensor(2.0)))
    torch.testing.assert_close(y[:, :1], x[:, :1])
    expected = 6 * 17 * math.log(torch.sigmoid(torch.tensor(2.0)).item())
    torch.testing.assert_close(logdet, torch.full((2,), expected), atol=1e-3, rtol=1e-5)


def test_coupling_accepts_a_plain_subnet():
    coupling = AffineCoupling(3, lambda cin, cout: torch.nn.Conv2d(cin, cout, 1))
    x = torch.randn(2, 3, 4, 5)
    y, _ = coupling(x)
    torch.testing.assert_close(coupling.inverse(y), x, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"space": "spherical"}, "space must be one of"),
        ({"permutation": "shuffle"}, "permutation must be one of"),
        ({"temporal_kernel": 4}, "temporal_kernel must be odd"),
        ({"temporal_kernel": 9, "n_frames": 5}, "temporal_kernel=9 is longer"),
        ({"in_channels": 1}, "in_channels must be an integer >= 2"),
        ({"n_flow_steps": 0}, "n_flow_steps"),
        ({"hidden_channels": 2.5}, "hidden_channels"),
        ({"curvature": -1.0}, "curvature"),
        ({"graph": "coco18"}, "layout must be one of"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DSNFlow(**kwargs)


def test_input_shape_errors_name_the_layout():
    flow = DSNFlow(graph="coco17", n_frames=8, n_flow_steps=1, hidden_channels=2)
    with pytest.raises(ValueError, match=r"\(batch, 2, frames, 17\) for layout 'coco17'"):
        flow(torch.randn(2, 2, 8, 18))
    with pytest.raises(ValueError, match="at least temporal_kernel=3"):
        flow(torch.randn(2, 2, 2, 17))


def test_curvature_property():
    assert DSNFlow(space="euclidean", n_flow_steps=1).curvature is None
    assert DSNFlow(curvature=0.25, n_flow_steps=1).curvature == pytest.approx(0.25)


def test_parameter_counts():
    # STG-NF-sized Euclidean baseline: hundreds of parameters; dual defaults under ~50k.
    assert 100 <= count_parameters(DSNFlow(space="euclidean", hidden_channels=2)) <= 1000
    assert count_parameters(DSNFlow()) < 50_000
    rows = parameter_table(spaces=("dual",), hidden=(4, 8))
    assert [r[:2] for r in rows] == [("dual", 4), ("dual", 8)]
    assert rows[0][2] < rows[1][2]
    # a learnable curvature is one parameter shared by every layer
    fixed = count_parameters(DSNFlow(n_flow_steps=4))
    assert count_parameters(DSNFlow(n_flow_steps=4, learn_curvature=True)) == fixed + 1


@settings(max_examples=25, deadline=None)
@given(
    channels=st.integers(2, 4),
    n_frames=st.integers(3, 7),
    n_joints=st.integers(2, 6),
    n_flow_steps=st.integers(1, 3),
    space=st.sampled_from(SPACES),
    permutation=st.sampled_from(PERMUTATIONS),
    seed=st.integers(0, 2**16),
)
def test_invertibility_property(
    channels, n_frames, n_joints, n_flow_steps, space, permutation, seed
):
    model = make_flow(
        space,
        permutation,
        torch.float64,
        channels=channels,
        n_frames=n_frames,
        n_joints=n_joints,
        n_flow_steps=n_flow_steps,
        hidden_channels=3,
        seed=seed,
    )
    x = torch.randn(3, channels, n_frames, n_joints, dtype=torch.float64) * 2
    with torch.no_grad():
        z, logdet = model(x)
        assert torch.isfinite(z).all() and torch.isfinite(logdet).all()
        torch.testing.assert_close(model.inverse(z), x, atol=1e-8, rtol=1e-8)
