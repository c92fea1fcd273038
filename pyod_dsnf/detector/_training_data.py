"""The training data of a fit: a spread check, the hold-out split, the mirrored copies."""

from __future__ import annotations

import warnings

import numpy as np

from pyod_dsnf.detector._validation import mirror_segments
from pyod_dsnf.poses.skeletons import SkeletonGraph

__all__ = ["MIN_REFERENCE", "check_spread", "reference_segments", "training_sets"]

#: Fewest held-out segments on which the per-joint standardisation is fitted; with fewer
#: (small inputs) it is fitted on all the training segments.
MIN_REFERENCE = 50


def check_spread(data: np.ndarray, *, normalize: bool) -> None:
    """ValueError when the x or y coordinates of prepared segments ``(n, 2, T, V)`` never vary."""
    spread = data.std(axis=(0, 2, 3), dtype=np.float64)
    if (spread < 1e-6).any():
        axis = "xy"[int(np.argmin(spread))]
        raise ValueError(
            f"the {axis} coordinates of the training segments do not vary (standard deviation "
            f"{spread.min():.1e} after preparation, e.g. all-constant or identical segments); "
            f"a density cannot be fitted to a single point: give varied segments"
            + (" or use normalize=False" if normalize else "")
        )


def _n_holdout(n: int, fraction: float, *, stacklevel: int) -> int:
    """Segments to hold out: ``round(n * fraction)``, at least 1, none if < 2 would be left."""
    n_val = max(round(n * fraction), 1) if fraction > 0 else 0
    if n_val and n - n_val < 2:
        warnings.warn(
            f"X has only {n} segments, too few for validation_fraction={fraction}; training "
            f"on all of them without a hold-out",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return 0
    return n_val


def training_sets(
    data: np.ndarray,
    graph: SkeletonGraph,
    *,
    validation_fraction: float,
    augment: bool,
    normalized: bool,
    rng: np.random.Generator,
    stacklevel: int = 2,
    return_index: bool = False,
) -> tuple[np.ndarray, np.ndarray | None] | tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Split prepared segments into (training, hold-out) and add mirrors to the training part.

    The hold-out (None when empty) is drawn by ``rng`` before augmentation, so no
    mirror of a held-out segment is trained on. With ``return_index`` the sorted
    indices of the held-out segments in ``data`` come third.
    """
    n = data.shape[0]
    n_val = _n_holdout(n, validation_fraction, stacklevel=stacklevel + 1)
    order = rng.permutation(n)
    train, val = data[order[n_val:]], data[order[:n_val]]
    if augment:
        train = np.concatenate([train, mirror_segments(train, graph, normalized=normalized)])
    if return_index:
        return train, (val if n_val else None), np.sort(order[:n_val])
    return train, (val if n_val else None)


def reference_segments(data: np.ndarray, val: np.ndarray | None) -> np.ndarray:
    """The segments the per-joint standardisation is fitted on: the hold-out, never trained on.

    The flow's per-joint shares are optimistic on the segments it was trained on
    (docs/benchmark.md, "Training aimed at detection"), so the held-out segments set
    what normal looks like; with fewer than :data:`MIN_REFERENCE` of them (or none)
    the standardisation falls back to all the training segments ``data``.
    """
    return val if val is not None and len(val) >= MIN_REFERENCE else data
