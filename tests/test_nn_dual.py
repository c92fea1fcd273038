import pytest
import torch

from pyod_dsnf.nn.dual import DualSpaceGCN
from pyod_dsnf.nn.hyperbolic import make_poincare_ball
from pyod_dsnf.poses.skeletons import COCO17

A = torch.as_tensor(COCO17.adjacency(), dtype=torch.float32)


@pytest.mark.parametrize(
    ("space", "fusion", "has_euc", "has_hyp"),
    [
        ("dual", "gate", True, True),
        ("dual", "concat", True, True),
        ("euclidean", "gate", True, False),
        ("hyperbolic", "gate", False, True),
    ],
)
def test_branches_and_zero_start(space, fusion, has_euc, has_hyp):
    net = DualSpaceGCN(1, 2, 8, A, space=space, ball=make_poincare_ball(1.0), fusion=fusion)
    assert (net.euclidean is not None) == has_euc
    assert (net.hyperbolic is not None) == has_hyp
    out, distance = net(torch.randn(3, 1, 6, 17))
    assert out.shape == (3, 2, 6, 17)
    assert torch.all(out == 0)  # zero-initialised output layer: coupling starts at identity
    assert (distance is not None) == has_hyp
    if has_hyp:
        assert distance.shape == (3,) and (distance > 0).all()


def test_dual_errors():
    with pytest.raises(ValueError, match="needs a geoopt PoincareBall"):
        DualSpaceGCN(1, 2, 8, A, space="dual", ball=None)
    with pytest.raises(ValueError, match="fusion must be one of"):
        DualSpaceGCN(1, 2, 8, A, space="euclidean", fusion="sum")
    with pytest.raises(ValueError, match="space must be one of"):
        DualSpaceGCN(1, 2, 8, A, space="both")
