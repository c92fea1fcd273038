"""Folder in, files out: the library side of ``pyod-dsnf fit``, ``score`` and ``evaluate``.

* :func:`fit_pose_dir` trains a :class:`~pyod_dsnf.DSNFDetector` on a folder of
  tracked-person JSON files and saves it;
* :func:`score_pose_dir` writes per-frame anomaly scores of every clip of a folder
  (one CSV per clip and one NPZ for all);
* :func:`evaluate_scores` computes the frame metrics of such scores against a folder
  of ``<clip>.npy`` frame masks.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pyod_dsnf.datasets import load_mask
from pyod_dsnf.estimator import DSNFDetector
from pyod_dsnf.evaluation import (
    MODES,
    auc_pr,
    auc_roc,
    equal_error_rate,
    frame_scores,
    macro_auc_roc,
)
from pyod_dsnf.poses import Clip, fill_gaps, load_tracks, segment_tracks

__all__ = [
    "SCORES_FILE",
    "TRACKED_FILE",
    "evaluate_scores",
    "fit_pose_dir",
    "load_masks_dir",
    "load_pose_dir",
    "score_pose_dir",
]

#: Per-frame scores of every clip (NPZ, one array per clip id).
SCORES_FILE = "frame_scores.npz"
#: Per clip, True where at least one person is tracked (NPZ, bool arrays).
TRACKED_FILE = "tracked_frames.npz"


def _existing_dir(path: str | os.PathLike, name: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{name}={str(p)!r} does not exist")
    if not p.is_dir():
        raise ValueError(f"{name}={str(p)!r} is not a folder")
    return p


def load_pose_dir(pose_dir: str | os.PathLike, *, layout: str = "coco17") -> list[Clip]:
    """Load every ``*.json`` tracked-person file of a folder (not recursive).

    Parameters
    ----------
    pose_dir : str or path
        Folder of ``<clip>_alphapose_tracked_person.json`` files (docs/data.md).
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout of the returned keypoints.

    Returns
    -------
    list of Clip
        Sorted by file name. NaN joint confidences are set to 0 and counted in
        one warning for the folder.

    Raises
    ------
    ValueError
        When the folder is missing, holds no ``*.json`` file (the message says
        where the files of the pose/train, pose/test layout live), or a file is
        invalid.
    """
    d = _existing_dir(pose_dir, "pose_dir")
    files = sorted(d.glob("*.json"))
    if not files:
        hint = ""
        if (d / "pose").is_dir() or (d / "train").is_dir():
            hint = " (for a dataset root, pass its pose/train or pose/test folder)"
        raise ValueError(f"pose_dir={str(d)!r} holds no *.json tracked-person files{hint}")
    clips = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*NaN joint confidences set to 0")
        for f in files:
            clips.append(load_tracks(f, layout=layout))
    n_nan = sum(c.n_nan_confidence for c in clips)
    if n_nan:
        warnings.warn(f"{d}: {n_nan} NaN joint confidences set to 0", stacklevel=2)
    ids = [c.clip_id for c in clips]
    if len(set(ids)) != len(ids):
        raise ValueError(f"pose_dir={str(d)!r}: several files give the same clip id")
    return clips


def load_masks_dir(gt_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every ``<clip>.npy`` frame mask (0 normal, 1 anomalous) of a folder."""
    d = _existing_dir(gt_dir, "gt_dir")
    files = sorted(d.glob("*.npy"))
    if not files:
        raise ValueError(f"gt_dir={str(d)!r} holds no <clip>.npy frame masks")
    return {f.stem: load_mask(f) for f in files}


def fit_pose_dir(
    pose_dir: str | os.PathLike,
    model_path: str | os.PathLike,
    *,
    seg_len: int = 24,
    stride: int = 6,
    max_gap: int = 2,
    layout: str = "coco17",
    **params: Any,
) -> DSNFDetector:
    """Train a detector on the clips of a folder and save it to ``model_path``.

    Parameters
    ----------
    pose_dir : str or path
        Folder of tracked-person JSON files of normal activity.
    model_path : str or path
        Where :meth:`DSNFDetector.save` writes the model.
    seg_len : int, default=24
        Segment length T.
    stride : int, default=6
        Stride of the training windows.
    max_gap : int, default=2
        Gaps of up to this many frames are filled (:func:`pyod_dsnf.poses.fill_gaps`).
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout; also passed to the detector.
    **params
        Other :class:`DSNFDetector` parameters.

    Returns
    -------
    DSNFDetector
        The fitted detector.
    """
    clips, _ = fill_gaps(load_pose_dir(pose_dir, layout=layout), max_gap=max_gap)
    seg = segment_tracks(clips, seg_len=seg_len, stride=stride)
    if len(seg) < 2:
        raise ValueError(
            f"pose_dir={str(pose_dir)!r} gives {len(seg)} segment(s) of seg_len={seg_len} "
            f"frames; need at least 2 (lower seg_len or add clips)"
        )
    det = DSNFDetector(layout=layout, **params).fit(seg.X)
    det.save(model_path)
    return det


def score_pose_dir(
    model_path: str | os.PathLike,
    pose_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    mode: str = "person",
    max_gap: int = 2,
    gt_dir: str | os.PathLike | None = None,
    plot: bool = False,
) -> dict[str, np.ndarray]:
    """Per-frame anomaly scores of every clip of a folder, written to ``out_dir``.

    Parameters
    ----------
    model_path : str or path
        A model saved by :meth:`DSNFDetector.save` (e.g. by :func:`fit_pose_dir`).
    pose_dir : str or path
        Folder of tracked-person JSON files to score.
    out_dir : str or path
        Created if needed. Receives ``<clip>.csv`` (columns ``frame``, ``score``,
        ``tracked``), :data:`SCORES_FILE` and :data:`TRACKED_FILE`, and with
        ``plot=True`` ``plots/<clip>.png``.
    mode : {"person", "field"}, default="person"
        Frame mapping (docs/evaluation.md). "person": gaps of up to ``max_gap``
        frames filled, short tracks padded, every tracked frame scored; "field":
        STG-NF's protocol on the raw tracks.
    max_gap : int, default=2
        Gap filling for ``mode="person"``.
    gt_dir : str or path, optional
        Folder of ``<clip>.npy`` masks: clip lengths come from them (and clips
        with a mask but no pose file are scored as "nobody here"); without it a
        clip ends at its last posed frame.
    plot : bool, default=False
        One PNG per clip (needs matplotlib), with the mask shaded when ``gt_dir``
        is given.

    Returns
    -------
    dict of str to ndarray
        Per clip, the per-frame scores (higher = more abnormal).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ValueError(f"model={str(model_path)!r} is not a file")
    det = DSNFDetector.load(model_path)
    layout = det.layout if isinstance(det.layout, str) else "coco17"
    clips = load_pose_dir(pose_dir, layout=layout)
    seg_len = int(det.input_shape_[0])
    if mode == "person":
        clips, _ = fill_gaps(clips, max_gap=max_gap)
        seg = segment_tracks(clips, seg_len=seg_len, stride=1, pad_short=True)
    else:
        seg = segment_tracks(clips, seg_len=seg_len, stride=1)
    masks = load_masks_dir(gt_dir) if gt_dir is not None else None
    if masks is not None:
        missing = [c.clip_id for c in clips if c.clip_id not in masks]
        if missing:
            raise ValueError(f"gt_dir={str(gt_dir)!r} has no mask for clip(s) {missing[:5]}")
        n_frames: Mapping[str, Any] = masks
    else:
        n_frames = {c.clip_id: c.last_frame + 1 for c in clips}
    seg_scores = det.decision_function(seg.X) if len(seg) else np.zeros(0)
    if np.isposinf(seg_scores).any():
        finite = seg_scores[np.isfinite(seg_scores)]
        seg_scores = np.where(
            np.isposinf(seg_scores), (finite.max() if finite.size else 0) + 1, seg_scores
        )
    scores = frame_scores(seg_scores, seg, n_frames, mode=mode)
    by_id = {c.clip_id: c for c in clips}
    tracked = {
        cid: by_id[cid].tracked_frames(len(s)) if cid in by_id else np.zeros(len(s), bool)
        for cid, s in scores.items()
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / SCORES_FILE, **scores)
    np.savez(out / TRACKED_FILE, **tracked)
    for cid, s in scores.items():
        with open(out / f"{cid}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["frame", "score", "tracked"])
            for i, (v, t) in enumerate(zip(s, tracked[cid], strict=True)):
                w.writerow([i, f"{v:.6g}", int(t)])
    if plot:
        from pyod_dsnf.evaluation import plot_frame_scores

        (out / "plots").mkdir(exist_ok=True)
        for cid, s in scores.items():
            mask = masks[cid] if masks is not None else None
            fig = plot_frame_scores(s, mask, out / "plots" / f"{cid}.png", title=cid)
            import matplotlib.pyplot as plt

            plt.close(fig)
    return scores


def _load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what}={str(path)!r} is not a readable .npz file ({exc})") from None


def evaluate_scores(scores: str | os.PathLike, gt_dir: str | os.PathLike) -> dict[str, float | int]:
    """Frame metrics of per-frame scores written by :func:`score_pose_dir`.

    Parameters
    ----------
    scores : str or path
        The output folder of :func:`score_pose_dir` (or its :data:`SCORES_FILE`).
    gt_dir : str or path
        Folder of ``<clip>.npy`` frame masks, 1 = anomalous.

    Returns
    -------
    dict
        ``auc_roc`` (all frames), ``auc_roc_person_frames``, ``auc_roc_macro``,
        ``n_macro_clips``, ``auc_pr``, ``eer``, ``n_frames``, ``n_anomalous``,
        ``n_person_frames``.

    Notes
    -----
    A clip with a mask but no scores (no pose file: nobody detected) and the
    frames of a mask beyond a clip's scores get the lowest score of the whole
    set, the rule of :func:`pyod_dsnf.evaluation.frame_scores`. Scores longer
    than their mask, or scores of a clip without a mask, raise ``ValueError``.
    """
    p = Path(scores)
    if not p.exists():
        raise ValueError(f"scores={str(p)!r} does not exist")
    folder = p if p.is_dir() else p.parent
    score_file = p / SCORES_FILE if p.is_dir() else p
    if not score_file.is_file():
        raise ValueError(
            f"scores={str(p)!r} holds no {SCORES_FILE}; pass the output folder of 'pyod-dsnf score'"
        )
    raw = _load_npz(score_file, "scores")
    tracked_file = folder / TRACKED_FILE
    tracked_raw = _load_npz(tracked_file, "tracked") if tracked_file.is_file() else None
    masks = load_masks_dir(gt_dir)
    extra = sorted(set(raw) - set(masks))
    if extra:
        raise ValueError(f"gt_dir={str(gt_dir)!r} has no mask for scored clip(s) {extra[:5]}")
    if not raw:
        raise ValueError(f"scores={str(p)!r} holds no clip")
    low = min(float(np.min(s)) if s.size else np.inf for s in raw.values())
    low = 0.0 if not np.isfinite(low) else low
    full, tracked = {}, {}
    for cid, m in masks.items():
        s = np.asarray(raw.get(cid, np.zeros(0)), dtype=np.float64)
        if s.ndim != 1 or len(s) > len(m):
            raise ValueError(
                f"scores of clip {cid!r} have shape {s.shape} but its mask has {len(m)} frames"
            )
        full[cid] = np.concatenate([s, np.full(len(m) - len(s), low)])
        t = np.zeros(len(m), bool)
        if tracked_raw is not None and cid in tracked_raw:
            t[: len(tracked_raw[cid])] = tracked_raw[cid]
        tracked[cid] = t
    macro, n_macro = macro_auc_roc(full, masks)
    return {
        "auc_roc": auc_roc(full, masks),
        "auc_roc_person_frames": auc_roc(full, masks, tracked)
        if tracked_raw is not None
        else float("nan"),
        "auc_roc_macro": macro,
        "n_macro_clips": n_macro,
        "auc_pr": auc_pr(full, masks),
        "eer": equal_error_rate(full, masks),
        "n_frames": int(sum(len(m) for m in masks.values())),
        "n_anomalous": int(sum(int(m.sum()) for m in masks.values())),
        "n_person_frames": int(sum(int(t.sum()) for t in tracked.values())),
    }
