"""PyOD baselines and a random-score control on the same segments as DSNF.

Every baseline sees the same input: the segments normalized exactly as
:class:`~pyod_dsnf.DSNFDetector` normalizes them (:func:`pyod_dsnf.normalize_segments`)
and flattened to ``(n_segments, T * V * 2)``. Scores are PyOD's: higher = more abnormal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from pyod.models.base import BaseDetector

from pyod_dsnf.detector._validation import normalize_segments

__all__ = [
    "PYOD_METHODS",
    "PYOD_SETTINGS",
    "RandomScores",
    "flat_segments",
    "isolated_rng",
    "make_pyod_detector",
]

#: Names accepted by :func:`make_pyod_detector`, in table order.
PYOD_METHODS = ("iforest", "lof", "knn", "ecod", "copod", "autoencoder", "deepsvdd")

#: The non-default settings used for each PyOD detector (the rest are PyOD's defaults).
PYOD_SETTINGS: dict[str, dict[str, Any]] = {
    "iforest": {},
    "lof": {},
    "knn": {},
    "ecod": {},
    "copod": {},
    "autoencoder": {"epoch_num": 10, "batch_size": 256, "verbose": 0},
    "deepsvdd": {"epochs": 10, "batch_size": 256, "verbose": 0},
}


def flat_segments(X: np.ndarray) -> np.ndarray:
    """Normalize segments as DSNF does and flatten them: ``(n, T * V * 2)`` float32."""
    Z = normalize_segments(X)
    return np.ascontiguousarray(Z.reshape(len(Z), -1), dtype=np.float32)


class RandomScores(BaseDetector):
    """Control detector: uniformly random anomaly scores, independent of the input.

    It shows how much of a frame-level figure the frame mapping alone hands out
    (``docs/evaluation.md``).

    Parameters
    ----------
    contamination : float, default=0.1
        As in PyOD.
    random_state : int or None, default=None
        Seed of the scores; the same seed and call sequence give the same scores.

    Attributes
    ----------
    decision_scores_ : ndarray of shape (n_samples,)
        Random scores of the training samples.

    Examples
    --------
    >>> import numpy as np
    >>> det = RandomScores(random_state=0).fit(np.zeros((5, 3)))
    >>> det.decision_function(np.zeros((4, 3))).shape
    (4,)
    """

    def __init__(self, contamination: float = 0.1, random_state: int | None = None) -> None:
        super().__init__(contamination=contamination)
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> RandomScores:
        X = np.asarray(X)
        if X.ndim < 1 or len(X) == 0:
            raise ValueError(f"X must hold at least one sample, got shape {X.shape}")
        self._set_n_classes(y)
        self.rng_ = np.random.default_rng(self.random_state)
        self.decision_scores_ = self.rng_.uniform(size=len(X))
        self._process_decision_scores()
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        if not hasattr(self, "rng_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("RandomScores is not fitted yet; call fit first")
        return self.rng_.uniform(size=len(np.asarray(X)))


def make_pyod_detector(
    name: str, *, n_features: int, n_samples: int | None = None, random_state: int = 0
) -> BaseDetector:
    """A PyOD detector (or the random control ``"random"``) with the benchmark's settings.

    Parameters
    ----------
    name : str
        One of :data:`PYOD_METHODS` or ``"random"``.
    n_features : int
        Width of the flattened segments (DeepSVDD needs it up front).
    n_samples : int, optional
        Number of training samples: the torch-based detectors' batch size is
        capped at it (PyOD 3.6.7's AutoEncoder fails when the training set is
        smaller than one batch).
    random_state : int, default=0
        Seed, for the detectors that take one.

    Returns
    -------
    BaseDetector
        An unfitted detector. The torch-based ones (AutoEncoder, DeepSVDD) seed
        torch's global generator themselves; build, fit and score them inside
        :func:`isolated_rng` to keep the caller's state.
    """
    kw = dict(PYOD_SETTINGS.get(name, {}))
    if n_samples is not None and "batch_size" in kw:
        kw["batch_size"] = max(1, min(kw["batch_size"], int(n_samples)))
    if name == "iforest":
        from pyod.models.iforest import IForest

        return IForest(random_state=random_state, **kw)
    if name == "lof":
        from pyod.models.lof import LOF

        return LOF(**kw)
    if name == "knn":
        from pyod.models.knn import KNN

        return KNN(**kw)
    if name == "ecod":
        from pyod.models.ecod import ECOD

        return ECOD(**kw)
    if name == "copod":
        from pyod.models.copod import COPOD

        return COPOD(**kw)
    if name == "autoencoder":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(random_state=random_state, device="cpu", **kw)
    if name == "deepsvdd":
        from pyod.models.deep_svdd import DeepSVDD

        return DeepSVDD(n_features=n_features, random_state=random_state, **kw)
    if name == "random":
        return RandomScores(random_state=random_state)
    raise ValueError(f"method must be one of {(*PYOD_METHODS, 'random')}, got {name!r}")


@contextmanager
def isolated_rng() -> Iterator[None]:
    """Run PyOD code that seeds numpy's or torch's global generators, then restore both.

    PyOD's torch-based detectors (AutoEncoder, DeepSVDD) call ``torch.manual_seed`` and
    ``np.random.seed`` when built, fitted or scoring; wrap all three in this.
    """
    np_state = np.random.get_state()  # noqa: NPY002 (restored, never seeded here)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
