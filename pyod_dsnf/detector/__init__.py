"""The estimator facade and what it delegates to.

:class:`~pyod_dsnf.detector.estimator.DSNFDetector` is the scikit-learn / PyOD detector; the
private modules beside it hold the parameter table (``_params``), input checks and
normalisation (``_validation``), the hold-out split and mirrors (``_training_data``), the
training loop (``_training``) and its loss (``losses``), chunked scoring (``scoring``), the
per-joint z-score (``standardizer``), device, seeds and threads (``_device``, ``_threads``)
and the model file format (``persistence``).

``DSNFDetector`` loads on first use (PEP 562), so that the numpy-only
:mod:`~pyod_dsnf.detector.standardizer` can be imported without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pyod_dsnf.detector.estimator import DSNFDetector

__all__ = ["DSNFDetector"]


def __getattr__(name: str) -> Any:
    if name != "DSNFDetector":
        raise AttributeError(f"module 'pyod_dsnf.detector' has no attribute {name!r}")
    from pyod_dsnf.detector.estimator import DSNFDetector

    globals()[name] = DSNFDetector
    return DSNFDetector
