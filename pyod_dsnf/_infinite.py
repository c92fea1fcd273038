"""The one policy for infinite anomaly scores (docs/guarantees.md, "Infinite scores").

A segment far outside the training data can have an infinite NLL. Then:

* inside the library scores stay ``+inf`` (``DSNFDetector.decision_function``, the live
  scorer's records, the per-joint z-scores): the most abnormal, and nothing is lost;
* where scores are ranked, averaged, smoothed or drawn (the frame mapping, metrics, method
  comparison, the alert animation), :func:`rank_safe` replaces ``+inf`` by the largest
  finite value of the same array + 1: still ranked first, and means stay finite;
* JSON, which has no infinity, gets :func:`json_number`: ``+-inf`` is written as
  ``+-JSON_INF`` (the largest float64), a value no finite score reaches.

NaN is never a score: :func:`rank_safe` and :func:`json_number` raise on it. numpy only.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["JSON_INF", "json_number", "rank_safe"]

#: How JSON output writes an infinite score (with its sign): the largest float64.
JSON_INF = float(np.finfo(np.float64).max)


def rank_safe(
    scores: np.ndarray,
    what: str = "the detector",
    *,
    warn: bool = True,
    stacklevel: int = 2,
) -> np.ndarray:
    """Scores ready for ranking and averaging: ``+inf`` becomes the largest finite value + 1.

    Parameters
    ----------
    scores : array-like of any shape
    what : str, default="the detector"
        Who made the scores, for the warning and the error.
    warn : bool, default=True
        Warn (``UserWarning``) with the number of ``+inf`` values replaced.
    stacklevel : int, default=2
        Of the warning: 1 points it at the line calling this function, 2 at the
        caller of that function.

    Returns
    -------
    ndarray of float64, same shape
        A copy; all values finite. With no finite value ``+inf`` becomes 1.0.

    Raises
    ------
    FloatingPointError
        When a score is NaN or ``-inf``.
    """
    s = np.asarray(scores, dtype=np.float64)
    if np.isnan(s).any() or np.isneginf(s).any():
        raise FloatingPointError(f"{what} returned NaN or -inf segment scores")
    inf = np.isposinf(s)
    if not inf.any():
        return s.copy()
    top = float(s[~inf].max()) if (~inf).any() else 0.0
    if warn:
        warnings.warn(
            f"{what}: {int(inf.sum())} segment score(s) are +inf; ranked as the most "
            f"abnormal (set to {top + 1.0:.4g}) for the frame mapping",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return np.where(inf, top + 1.0, s)


def json_number(value: float) -> float:
    """``value`` as a float JSON can hold: ``+-inf`` -> ``+-JSON_INF``; NaN raises ValueError."""
    x = float(value)
    if math.isnan(x):
        raise ValueError("a NaN score cannot be written (NaN is never a score)")
    return x if math.isfinite(x) else math.copysign(JSON_INF, x)
