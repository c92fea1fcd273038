import pytest
import torch

from pyod_dsnf.nn.euclidean import SpatialGraphConv, STGCNBlock
from pyod_dsnf.poses.skeletons import COCO17


def test_spatial_graph_conv_matches_explicit_partition_sum():
    a = torch.as_tensor(COCO17.adjacency(), dtype=torch.float32)
    conv = SpatialGraphConv(3, 4, a)
    x = torch.randn(2, 3, 5, 17)
    h = conv.conv(x).view(2, 3, 4, 5, 17)
    expected = sum(h[:, k] @ a[k].T for k in range(3))
    torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


def test_spatial_graph_conv_uses_the_skeleton():
    # a signal on the left wrist reaches only the wrist and its neighbour (the elbow)
    a = torch.as_tensor(COCO17.adjacency(), dtype=torch.float32)
    conv = SpatialGraphConv(1, 1, a)
    with torch.no_grad():
        conv.conv.weight.fill_(1.0)
        conv.conv.bias.zero_()
    x = torch.zeros(1, 1, 1, 17)
    x[..., 9] = 1.0
    reached = (conv(x).abs() > 0).flatten().nonzero().flatten().tolist()
    assert reached == [7, 9]


def test_stgcn_block_keeps_shape_and_checks_kernel():
    a = COCO17.adjacency()
    block = STGCNBlock(6, a, temporal_kernel=5)
    assert block(torch.randn(2, 6, 9, 17)).shape == (2, 6, 9, 17)
    with pytest.raises(ValueError, match="temporal_kernel must be a positive odd"):
        STGCNBlock(6, a, temporal_kernel=2)
    with pytest.raises(ValueError, match="adjacency must have shape"):
        SpatialGraphConv(2, 2, torch.ones(17, 17))
