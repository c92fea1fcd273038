"""The per-joint z-score: each joint's NLL share against its spread over the training segments.

The one place where ``z = (share - mean) / std`` is computed. The detector's
``anomaly_score="joint"`` takes the largest ``z`` of a segment; the live scorer
(:class:`~pyod_dsnf.stream.StreamScorer`) reports the highest ones per record and the alert
renderer (:mod:`pyod_dsnf.evaluation.render`) colours the joints by them. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ANOMALY_SCORES", "STD_FLOOR", "JointStandardizer"]

ANOMALY_SCORES = ("joint", "nll")
#: Smallest standard deviation kept, so that a joint whose share never varies still
#: gives finite z-scores.
STD_FLOOR = 1e-12


@dataclass(frozen=True)
class JointStandardizer:
    """Each joint's mean and standard deviation of its NLL share over the training segments.

    Attributes
    ----------
    mean, std : ndarray of shape (V,)
        Bits/dim; ``std`` is floored at :data:`STD_FLOOR`.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, joint: np.ndarray) -> JointStandardizer:
        """Mean and (population) standard deviation of each column of ``joint`` ``(n, V)``."""
        joint = np.asarray(joint, dtype=np.float64)
        if joint.ndim != 2 or joint.shape[0] == 0:
            raise ValueError(f"joint must have shape (n_segments >= 1, V), got {joint.shape}")
        return cls(joint.mean(axis=0), np.maximum(joint.std(axis=0), STD_FLOOR))

    @classmethod
    def of(cls, detector: Any) -> JointStandardizer:
        """The standardiser of a fitted detector (its ``joint_nll_mean_`` / ``joint_nll_std_``)."""
        return cls(
            np.asarray(detector.joint_nll_mean_, dtype=np.float64),
            np.asarray(detector.joint_nll_std_, dtype=np.float64),
        )

    def transform(self, joint: np.ndarray) -> np.ndarray:
        """Per-joint z-scores ``(n, V)`` float64 of per-joint NLL shares ``(n, V)``.

        An infinite share (a segment far outside the training data) gives ``+inf``
        (never NaN): it stays the most abnormal.
        """
        joint = np.asarray(joint, dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            z = (joint - self.mean) / self.std
        return np.where(np.isnan(z), np.inf, z)

    def scores(self, joint: np.ndarray, kind: str) -> np.ndarray:
        """Anomaly scores ``(n,)`` from per-joint shares ``(n, V)``; see ``anomaly_score``.

        "nll": the segment's NLL (the sum of its shares). "joint": the largest
        z-score; a segment with an infinite share scores ``+inf``. ValueError for
        another ``kind`` or shares of another shape than ``(n, V)``.
        """
        if kind not in ANOMALY_SCORES:
            raise ValueError(f"anomaly_score must be one of {ANOMALY_SCORES}, got {kind!r}")
        joint = np.asarray(joint, dtype=np.float64)
        if joint.ndim != 2 or joint.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"joint must have shape (n_segments, {self.mean.shape[0]}) as returned by "
                f"joint_nll, got {joint.shape}"
            )
        if kind == "nll":
            return joint.sum(axis=1)
        z = self.transform(joint)
        top = z.max(axis=1) if z.shape[1] else np.full(len(z), -np.inf)
        return np.where(np.isinf(joint).any(axis=1), np.inf, top)
