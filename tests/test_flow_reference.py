"""The flow computes the same function as the frozen reference, and old model files still load.

``tests/_reference_nn.py`` is the flow and its coupling networks as they were before
the hyperbolic bias became a point of the ball (and before the layers' later
rewrites); its state dicts are the old format.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from pyod_dsnf import DSNFDetector
from pyod_dsnf.flow import DSNFlow
from tests import _reference_nn as reference
from tests._flow_helpers import chain_graph
from tests._tolerances import assert_close_across_machines, detector_score_atol

SPACES = ["dual", "euclidean", "hyperbolic"]
PERMUTATIONS = ["reverse", "invconv"]
FUSIONS = ["gate", "concat"]
DTYPES = [torch.float64, torch.float32]
OLD_MODELS = Path(__file__).parent / "data" / "old_models"


def _pair(space, permutation, fusion, dtype, learn_curvature=False, seed=0):
    """A reference flow with random (non-identity) weights and the new flow loaded from it."""
    kwargs = dict(
        n_frames=6,
        graph=chain_graph(5),
        n_flow_steps=3,
        hidden_channels=4,
        space=space,
        permutation=permutation,
        fusion=fusion,
        curvature=0.7,
        learn_curvature=learn_curvature,
    )
    gen = torch.Generator().manual_seed(seed)
    ref = reference.DSNFlow(generator=torch.Generator().manual_seed(1), **kwargs).to(dtype)
    with torch.no_grad():
        # The output layers start at zero: move everything. (With noise 0.5 instead of 0.3
        # the inverse of this flow turns a relative change of 1e-14 in z into 4e-8 in x, so
        # rounding alone exceeds 1e-9: the check would test conditioning, not the code.)
        for p in ref.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=dtype))
    new = DSNFlow(generator=torch.Generator().manual_seed(2), **kwargs).to(dtype)
    new.load_state_dict(ref.state_dict())
    x = torch.randn(7, 2, 6, 5, generator=gen, dtype=dtype) * 2
    return ref.eval(), new.eval(), x


def _close(actual, expected, dtype, float32_rtol=1e-4):
    # float32: the layers round differently (e.g. the hyperbolic layer's last
    # logmap0(expmap0(u)) is computed without tanh/artanh), and the inverse of a
    # flow with random weights amplifies rounding (scales down to sigmoid(-|r|)).
    rtol = 1e-9 if dtype == torch.float64 else float32_rtol
    scale = max(1.0, float(expected.abs().max()))
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


grid = pytest.mark.parametrize(
    ("space", "permutation", "fusion", "dtype"),
    [(s, p, f, d) for s in SPACES for p in PERMUTATIONS for f in FUSIONS for d in DTYPES],
    ids=lambda v: str(v).replace("torch.", ""),
)


@grid
def test_same_function_as_the_reference(space, permutation, fusion, dtype):
    ref, new, x = _pair(space, permutation, fusion, dtype)
    with torch.no_grad():
        _close(new.log_prob(x), ref.log_prob(x), dtype)
        _close(new.joint_log_prob(x), ref.joint_log_prob(x), dtype)
        z, _ = ref(x)
        _close(new.inverse(z), ref.inverse(z), dtype, float32_rtol=1e-2)
        _, _, distance = new.transform(x)
        _, _, ref_distance = ref.transform(x)
    if ref_distance is None:
        assert distance is None
    else:
        _close(distance, ref_distance, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_function_with_a_learned_curvature(dtype):
    ref, new, x = _pair("dual", "invconv", "gate", dtype, learn_curvature=True)
    assert new.curvature == pytest.approx(ref.curvature)
    with torch.no_grad():
        _close(new.log_prob(x), ref.log_prob(x), dtype)
    # and the gradients with respect to the input (what the AWAM term uses)
    xg = x.clone().requires_grad_(True)
    (grad_new,) = torch.autograd.grad(new.log_prob(xg).sum(), xg)
    xg = x.clone().requires_grad_(True)
    (grad_ref,) = torch.autograd.grad(ref.log_prob(xg).sum(), xg)
    _close(grad_new, grad_ref, dtype)


@grid
def test_joint_shares_sum_to_the_log_likelihood(space, permutation, fusion, dtype):
    _, new, x = _pair(space, permutation, fusion, dtype, seed=3)
    with torch.no_grad():
        _close(new.joint_log_prob(x).sum(dim=-1), new.log_prob(x), dtype)


@pytest.mark.parametrize("name", ["dual_gate", "hyperbolic_learned_c"])
def test_model_files_saved_before_still_score_the_same(name):
    # Written by main's code at commit e6fc042 (tangent-vector hyperbolic bias), see
    # tests/data/old_models/make_old_models.py.
    detector = DSNFDetector.load(OLD_MODELS / f"{name}.dsnf")
    segments = np.load(OLD_MODELS / "segments.npy")
    expected = np.load(OLD_MODELS / f"{name}_scores.npy")
    # The scores were written on another CPU: they agree up to float32 rounding,
    # bounded from the size of the computation (tests/_tolerances.py).
    atol = detector_score_atol(detector, detector.joint_nll(segments))
    assert_close_across_machines(detector.decision_function(segments), expected, atol)
    names = set(detector.model_.state_dict())
    assert any(n.endswith("hyperbolic.bias_point") for n in names)
    assert not any(n.endswith("hyperbolic.bias") for n in names)
