"""Frame-level metrics over per-clip score and mask arrays.

All functions take ``scores`` and ``masks`` as mappings from clip id to 1-D
arrays of equal length (1 = anomalous frame, higher score = more abnormal) and
pool frames over clips unless said otherwise. See ``docs/evaluation.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

__all__ = [
    "MAPPING_NAMES",
    "FrameMetrics",
    "auc_pr",
    "auc_roc",
    "equal_error_rate",
    "frame_metrics",
    "macro_auc_roc",
    "pad_to_masks",
    "pool_frames",
]


def pool_frames(
    scores: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    frames: Mapping[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate labels and scores over the clips of ``masks`` (in its order).

    ``frames`` (optional, per clip a bool array) keeps only the frames marked True.
    Returns ``(y_true, y_score)``.
    """
    ys, ss = [], []
    for cid, mask in masks.items():
        if cid not in scores:
            raise ValueError(f"scores has no entry for clip {cid!r} of masks")
        m = np.asarray(mask)
        s = np.asarray(scores[cid], dtype=np.float64)
        if s.shape != m.shape:
            raise ValueError(
                f"scores[{cid!r}] has shape {s.shape} but its mask has shape {m.shape}"
            )
        if not np.isfinite(s).all():
            raise ValueError(f"scores[{cid!r}] holds non-finite values")
        if frames is not None:
            keep = np.asarray(frames[cid], dtype=bool)
            if keep.shape != m.shape:
                raise ValueError(
                    f"frames[{cid!r}] has shape {keep.shape} but its mask has shape {m.shape}"
                )
            m, s = m[keep], s[keep]
        ys.append(m.astype(np.int8))
        ss.append(s)
    if not ys:
        return np.zeros(0, dtype=np.int8), np.zeros(0)
    return np.concatenate(ys), np.concatenate(ss)


def _both_classes(y: np.ndarray, what: str) -> bool:
    if y.size == 0 or y.min() == y.max():
        warnings.warn(f"{what}: the frames hold only one class; returning NaN", stacklevel=3)
        return False
    return True


def auc_roc(scores, masks, frames=None) -> float:
    """Micro AUC-ROC: all (selected) frames of all clips pooled."""
    y, s = pool_frames(scores, masks, frames)
    return float(roc_auc_score(y, s)) if _both_classes(y, "auc_roc") else float("nan")


def auc_pr(scores, masks, frames=None) -> float:
    """Area under the precision-recall curve of the anomalous class.

    Computed as average precision (sklearn's ``average_precision_score``), the
    step-wise integral, pooled over clips.
    """
    y, s = pool_frames(scores, masks, frames)
    return float(average_precision_score(y, s)) if _both_classes(y, "auc_pr") else float("nan")


def equal_error_rate(scores, masks, frames=None) -> float:
    """Equal error rate: where the false positive rate equals the miss rate.

    Read off the ROC curve and linearly interpolated between the two operating
    points where ``1 - TPR - FPR`` changes sign.
    """
    y, s = pool_frames(scores, masks, frames)
    if not _both_classes(y, "equal_error_rate"):
        return float("nan")
    fpr, tpr, _ = roc_curve(y, s)
    d = (1.0 - tpr) - fpr  # +1 at the strictest threshold, -1 at the loosest
    i = int(np.flatnonzero(d <= 0)[0])
    if d[i] == 0 or i == 0:
        return float(fpr[i])
    t = d[i - 1] / (d[i - 1] - d[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def macro_auc_roc(scores, masks, frames=None) -> tuple[float, int]:
    """Mean per-clip AUC-ROC over the clips holding both classes.

    Returns ``(macro_auc, n_clips_used)``; NaN and 0 when no clip qualifies.
    """
    aucs = []
    for cid, mask in masks.items():
        sub_frames = None if frames is None else {cid: frames[cid]}
        y, s = pool_frames({cid: scores[cid]} if cid in scores else {}, {cid: mask}, sub_frames)
        if y.size and y.min() != y.max():
            aucs.append(roc_auc_score(y, s))
    if not aucs:
        warnings.warn("macro_auc_roc: no clip holds both classes; returning NaN", stacklevel=2)
        return float("nan"), 0
    return float(np.mean(aucs)), len(aucs)


def frame_metrics(
    scores: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    tracked: Mapping[str, np.ndarray] | None = None,
) -> dict[str, float | int]:
    """Every frame-level figure we report, from per-frame scores: the one metric bundle.

    Parameters
    ----------
    scores, masks : mapping of str to ndarray
        Per clip, the per-frame scores and labels (1 = anomalous), of equal lengths.
    tracked : mapping of str to ndarray, optional
        Per clip, True where a person is tracked; without it the person-frame
        figures are NaN / 0.

    Returns
    -------
    dict
        ``auc_roc`` (all frames), ``auc_roc_person_frames``, ``auc_roc_macro`` and
        ``n_macro_clips``, ``auc_pr``, ``eer`` (all frames), ``n_frames``,
        ``n_anomalous``, ``n_person_frames``, ``n_anomalous_person_frames``,
        ``n_clips`` (clips with a mask; the macro AUC covers the ``n_macro_clips`` of
        them that hold both normal and anomalous frames).
    """
    macro, n_macro = macro_auc_roc(scores, masks)
    if tracked is not None:
        person = auc_roc(scores, masks, tracked)
        n_person = int(sum(int(np.sum(tracked[c])) for c in masks))
        n_anom_person = int(
            sum(int(np.sum(np.asarray(m)[np.asarray(tracked[c], bool)])) for c, m in masks.items())
        )
    else:
        person, n_person, n_anom_person = float("nan"), 0, 0
    return {
        "auc_roc": auc_roc(scores, masks),
        "auc_roc_person_frames": person,
        "auc_roc_macro": macro,
        "n_macro_clips": n_macro,
        "auc_pr": auc_pr(scores, masks),
        "eer": equal_error_rate(scores, masks),
        "n_frames": int(sum(len(m) for m in masks.values())),
        "n_anomalous": int(sum(int(np.sum(m)) for m in masks.values())),
        "n_person_frames": n_person,
        "n_anomalous_person_frames": n_anom_person,
        "n_clips": len(masks),
    }


def pad_to_masks(
    scores: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Scores of every clip of ``masks``, as long as its mask.

    A clip without scores (nobody detected) and the frames of a mask beyond a
    clip's scores get the lowest score of the whole set, the rule of
    :func:`pyod_dsnf.evaluation.frame_scores` for frames without a person.

    Raises
    ------
    ValueError
        For scores of a clip without a mask, scores longer than their mask, or
        no scores at all.
    """
    extra = sorted(set(scores) - set(masks))
    if extra:
        raise ValueError(f"masks have no entry for scored clip(s) {extra[:5]}")
    if not scores:
        raise ValueError("scores holds no clip")
    low = min(float(np.min(s)) if np.size(s) else np.inf for s in scores.values())
    low = 0.0 if not np.isfinite(low) else low
    out = {}
    for cid, m in masks.items():
        s = np.asarray(scores.get(cid, np.zeros(0)), dtype=np.float64)
        if s.ndim != 1 or len(s) > len(m):
            raise ValueError(
                f"scores of clip {cid!r} have shape {s.shape} but its mask has {len(m)} frames"
            )
        out[cid] = np.concatenate([s, np.full(len(m) - len(s), low)])
    return out


# ------------------------------------------------------------------ the result type
#: How each frame mapping is named in printed output.
MAPPING_NAMES = {"field": "field mapping", "person": "person mapping"}

_LABELS = (
    ("auc_roc", "AUC-ROC", "all frames"),
    ("auc_roc_person_frames", "AUC-ROC", "person frames"),
    ("auc_roc_macro", "macro AUC-ROC", "per clip"),
    ("auc_pr", "AUC-PR", "all frames"),
    ("eer", "EER", "all frames"),
)


@dataclass
class FrameMetrics:
    """Every frame-level figure, with the mapping it was made under: the one result type.

    Returned by ``pipeline.metrics`` (frame scores + masks); ``evaluation.evaluate``
    returns its subclass :class:`~pyod_dsnf.evaluation.Evaluation`, which adds a random
    control.

    Attributes
    ----------
    mode : str
        "field", "person" or "unknown" (scores written without the mapping's name).
    auc_roc, auc_roc_person_frames, auc_roc_macro, auc_pr, eer : float
        As in :func:`pyod_dsnf.evaluation.frame_metrics`.
    n_macro_clips, n_frames, n_anomalous, n_person_frames, n_anomalous_person_frames : int
    n_clips : int
        Clips scored (with a mask); the macro AUC covers the ``n_macro_clips`` of
        them that hold both normal and anomalous frames.
    """

    @classmethod
    def measure(
        cls,
        mode: str,
        scores: Mapping[str, np.ndarray],
        masks: Mapping[str, np.ndarray],
        tracked: Mapping[str, np.ndarray] | None = None,
        **extra: Any,
    ) -> FrameMetrics:
        """The figures of per-frame ``scores`` against ``masks``; ``extra``: a subclass's fields."""
        return cls(mode=mode, **frame_metrics(scores, masks, tracked), **extra)

    mode: str
    auc_roc: float
    auc_roc_person_frames: float
    auc_roc_macro: float
    n_macro_clips: int
    auc_pr: float
    eer: float
    n_frames: int
    n_anomalous: int
    n_person_frames: int
    n_anomalous_person_frames: int
    n_clips: int

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def label(self, key: str) -> str:
        """The printed name of a figure, e.g. ``"AUC-ROC, field mapping, all frames"``."""
        for k, name, frames in _LABELS:
            if k == key:
                return f"{name}, {MAPPING_NAMES.get(self.mode, 'mapping unknown')}, {frames}"
        raise KeyError(key)

    def lines(self) -> list[str]:
        """One line per figure, each naming its protocol (AUCs in percent)."""
        out = [
            f"{self.n_frames} frames ({self.n_anomalous} anomalous), "
            f"{self.n_person_frames} with a tracked person"
        ]
        width = max(len(self.label(k)) for k, _, _ in _LABELS)
        for key, _, _ in _LABELS:
            value = getattr(self, key)
            text = f"{value:.3f}" if key == "eer" else f"{100 * value:.2f}"
            if key == "auc_roc_macro":
                text += (f" (mean over the {self.n_macro_clips} of {self.n_clips} clips that "
                         "hold both normal and anomalous frames: a clip of one class has no AUC)")
            out.append(f"{self.label(key):<{width}}  {text}")
        return out
