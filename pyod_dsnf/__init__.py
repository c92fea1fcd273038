"""pyod-dsnf: Dual-Space Normalizing Flow (DSNF) for skeleton-based video anomaly detection.

The public names below load on first use (PEP 562), so that ``import pyod_dsnf.poses``,
``pyod-dsnf --help`` and ``pyod-dsnf replay`` do not import torch, geoopt or pyod.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pyod_dsnf._version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from pyod_dsnf.detector._validation import normalize_segments
    from pyod_dsnf.detector.estimator import DSNFDetector
    from pyod_dsnf.detector.losses import awam_loss
    from pyod_dsnf.flow import DSNFlow
    from pyod_dsnf.poses.skeletons import SkeletonGraph, get_layout

#: Public name -> the module that defines it.
_LAZY = {
    "DSNFDetector": "pyod_dsnf.detector.estimator",
    "DSNFlow": "pyod_dsnf.flow",
    "SkeletonGraph": "pyod_dsnf.poses.skeletons",
    "awam_loss": "pyod_dsnf.detector.losses",
    "get_layout": "pyod_dsnf.poses.skeletons",
    "normalize_segments": "pyod_dsnf.detector._validation",
}

__all__ = [
    "DSNFDetector",
    "DSNFlow",
    "SkeletonGraph",
    "__version__",
    "awam_loss",
    "get_layout",
    "normalize_segments",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyod_dsnf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
