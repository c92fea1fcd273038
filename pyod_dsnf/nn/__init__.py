"""Graph layers: the coupling networks of the flow.

- :mod:`pyod_dsnf.nn.euclidean`: ST-GCN block (spatial partitioned graph
  convolution + temporal convolution) in Euclidean space;
- :mod:`pyod_dsnf.nn.hyperbolic`: graph convolution on a Poincaré ball;
- :mod:`pyod_dsnf.nn.dual`: the Dual-Space Parallel GCN that runs both side by
  side and fuses them.
"""

from pyod_dsnf.nn.dual import DualSpaceGCN
from pyod_dsnf.nn.euclidean import SpatialGraphConv, STGCNBlock
from pyod_dsnf.nn.hyperbolic import HyperbolicGraphConv, make_poincare_ball

__all__ = [
    "DualSpaceGCN",
    "HyperbolicGraphConv",
    "STGCNBlock",
    "SpatialGraphConv",
    "make_poincare_ball",
]
