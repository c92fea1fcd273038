"""pyod-dsnf: Dual-Space Normalizing Flow (DSNF) for skeleton-based video anomaly detection."""

from pyod_dsnf._validation import normalize_segments
from pyod_dsnf._version import __version__
from pyod_dsnf.estimator import DSNFDetector
from pyod_dsnf.flow import DSNFlow
from pyod_dsnf.graph import SkeletonGraph, get_layout
from pyod_dsnf.losses import awam_loss

__all__ = [
    "DSNFDetector",
    "DSNFlow",
    "SkeletonGraph",
    "__version__",
    "awam_loss",
    "get_layout",
    "normalize_segments",
]
