"""pyod-dsnf: Dual-Space Normalizing Flow (DSNF) for skeleton-based video anomaly detection."""

from pyod_dsnf._version import __version__
from pyod_dsnf.estimator import DSNFDetector
from pyod_dsnf.graph import SkeletonGraph, get_layout

__all__ = ["DSNFDetector", "SkeletonGraph", "__version__", "get_layout"]
