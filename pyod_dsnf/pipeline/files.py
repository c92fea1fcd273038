"""Folders in, files out: the library side of ``pyod-dsnf fit``, ``score`` and ``evaluate``.

Thin callers of :mod:`pyod_dsnf.pipeline` that add the files:

* :func:`fit_pose_dir` trains a :class:`~pyod_dsnf.DSNFDetector` on a folder of
  pose files and saves it (the output is checked before anything is loaded);
* :func:`score_pose_dir` writes per-frame anomaly scores of every clip of a folder
  (one CSV per clip, one NPZ for all, and :data:`INFO_FILE` naming the mapping),
  scoring clips in parallel processes with ``n_jobs``;
* :func:`evaluate_scores` computes the frame metrics of such scores against a folder
  of ``<clip>.npy`` frame masks, each figure named with its mapping.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyod_dsnf._checks import check_int
from pyod_dsnf.datasets import load_masks
from pyod_dsnf.evaluation import MODES
from pyod_dsnf.pipeline.parallel import load_model, release_models, score_sources
from pyod_dsnf.pipeline.steps import FrameScores, Windowing, cut, metrics, to_frames
from pyod_dsnf.poses import DEFAULT_FORMAT, load_folder
from pyod_dsnf.poses.skeletons import get_layout

__all__ = [
    "INFO_FILE",
    "SCORES_FILE",
    "TRACKED_FILE",
    "ScoredFolder",
    "check_detector_params",
    "check_output_file",
    "evaluate_scores",
    "fit_pose_dir",
    "load_masks_dir",
    "load_pose_dir",
    "read_scores",
    "score_pose_dir",
]

#: Per-frame scores of every clip (NPZ, one array per clip id).
SCORES_FILE = "frame_scores.npz"
#: Per clip, True where at least one person is tracked (NPZ, bool arrays).
TRACKED_FILE = "tracked_frames.npz"
#: How the scores were made: mapping, model, segment length (JSON).
INFO_FILE = "scores.json"


#: The folder loader under its old name (:func:`pyod_dsnf.poses.load_folder`).
load_pose_dir = load_folder


def load_masks_dir(gt_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every ``<clip>.npy`` frame mask (0 normal, 1 anomalous) of a folder."""
    return load_masks(gt_dir, name="gt_dir")


def check_output_file(path: str | os.PathLike, name: str = "output") -> Path:
    """Check that a file can be written at ``path`` before any work is done.

    Raises
    ------
    ValueError
        When ``path`` is a folder, its folder does not exist (the message names
        it), or the folder is not writable.
    """
    p = Path(path)
    folder = p.parent
    if p.is_dir():
        raise ValueError(f"{name}={str(p)!r} is a folder; give a file name in it")
    if not folder.is_dir():
        raise ValueError(
            f"{name}={str(p)!r}: the folder {str(folder)!r} does not exist; create it first "
            "(nothing was trained)"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}={str(p)!r}: the folder {str(folder)!r} is not writable")
    return p


def check_detector_params(n_frames: int, **params: Any) -> Any:
    """A :class:`~pyod_dsnf.DSNFDetector` with ``params``, validated before any data is read.

    The parameter table is checked, then the flow is built once for segments of
    ``n_frames`` frames (a small model, discarded), so the rules that
    :class:`~pyod_dsnf.flow.DSNFlow` owns (space, curvature, sizes) fail here too
    rather than after loading. Nothing is fitted.
    """
    from pyod_dsnf.detector._params import check_params
    from pyod_dsnf.detector._training import build_flow
    from pyod_dsnf.detector.estimator import DSNFDetector

    det = DSNFDetector(**params)
    check_params(det.get_params(deep=False))
    build_flow(det.get_params(deep=False), get_layout(det.layout), n_frames, 0)
    return det


def fit_pose_dir(
    pose_dir: str | os.PathLike,
    model_path: str | os.PathLike,
    *,
    seg_len: int = 24,
    stride: int = 6,
    max_gap: int = 2,
    layout: str = "coco17",
    fmt: str = DEFAULT_FORMAT,
    **params: Any,
) -> Any:
    """Train a detector on the clips of a folder and save it to ``model_path``.

    Everything is checked before the data is loaded: the windowing, the detector's
    parameters, and that ``model_path`` can be written.

    Parameters
    ----------
    pose_dir : str or path
        Folder of pose files of normal activity.
    model_path : str or path
        Where :meth:`~pyod_dsnf.DSNFDetector.save` writes the model (its folder must exist).
    seg_len : int, default=24
        Segment length T.
    stride : int, default=6
        Stride of the training windows.
    max_gap : int, default=2
        Gaps of up to this many frames are filled (:func:`pyod_dsnf.poses.fill_gaps`).
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout; also passed to the detector.
    fmt : str, default="tracked"
        Pose format of the files (:func:`pyod_dsnf.poses.pose_formats`).
    **params
        Other :class:`~pyod_dsnf.DSNFDetector` parameters.

    Returns
    -------
    DSNFDetector
        The fitted detector, calibrated for the stream from its held-out windows
        (:func:`pyod_dsnf.stream.calibrate_detector`; not when nothing was held out).
    """
    windowing = Windowing.train(
        check_int("seg_len", seg_len, 1),
        check_int("stride", stride, 1),
        check_int("max_gap", max_gap, 0),
    )
    det = check_detector_params(windowing.seg_len, layout=layout, **params)
    check_output_file(model_path)
    segset = cut(load_folder(pose_dir, fmt=fmt, layout=layout), windowing)
    if len(segset) < 2:
        raise ValueError(
            f"pose_dir={str(pose_dir)!r} gives {len(segset)} segment(s) of seg_len={seg_len} "
            f"frames; need at least 2 (lower seg_len or add clips)"
        )
    det.fit(segset.segments.X)
    if len(getattr(det, "validation_index_", ())) >= 2:  # thresholds for `pyod-dsnf stream`
        from pyod_dsnf.stream.calibration import calibrate_detector, footage

        cams, people = footage(segset.clips)
        calibrate_detector(det, segset.segments.X, camera_frames=cams, person_frames=people)
    det.save(model_path)
    return det


@dataclass
class ScoredFolder:
    """What :func:`score_pose_dir` computed and wrote.

    Attributes
    ----------
    frames : FrameScores
        Per clip, the per-frame scores (``frames.scores``), the tracked flags and
        the mapping.
    paths : dict of str to Path
        ``"csv"`` (the folder of the per-clip CSVs), ``"scores"``, ``"tracked"``,
        ``"info"`` and, with plots, ``"plots"`` (the folder of the PNGs).
    """

    frames: FrameScores
    paths: dict[str, Path]


def score_pose_dir(
    model_path: str | os.PathLike,
    pose_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    mode: str = "person",
    max_gap: int = 2,
    gt_dir: str | os.PathLike | None = None,
    plot: bool = False,
    fmt: str = DEFAULT_FORMAT,
    device: str = "cpu",
    n_jobs: int = 1,
    threads: int | None = None,
) -> ScoredFolder:
    """Per-frame anomaly scores of every clip of a folder, written to ``out_dir``.

    Parameters
    ----------
    model_path : str or path
        A model saved by :meth:`~pyod_dsnf.DSNFDetector.save` (e.g. by :func:`fit_pose_dir`).
    pose_dir : str or path
        Folder of pose files to score.
    out_dir : str or path
        Created if needed. Receives ``<clip>.csv`` (columns ``frame``, ``score``,
        ``tracked``), :data:`SCORES_FILE`, :data:`TRACKED_FILE`, :data:`INFO_FILE`
        and with ``plot=True`` ``plots/<clip>.png``.
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
    fmt : str, default="tracked"
        Pose format of the files.
    device : str, default="cpu"
        Where the model scores ("cpu", "cuda", "cuda:1", "auto").
    n_jobs : int, default=1
        Clips scored in this many joblib workers (processes; any joblib backend,
        e.g. Dask). The output does not depend on it (at a fixed ``threads``).
    threads : int, optional
        Torch CPU threads per worker (default: keep this process's setting for
        one job, ``cpu_count // n_jobs`` otherwise).

    Returns
    -------
    ScoredFolder
        ``frames.scores``: per clip, the per-frame scores (higher = more abnormal).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ValueError(f"model={str(model_path)!r} is not a file")
    masks = load_masks_dir(gt_dir) if gt_dir is not None else None
    try:
        # n_jobs=1: the one worker finds it loaded. Otherwise the parent reads the model on
        # the CPU only: CUDA initialised here would be unusable in forked workers.
        det = load_model(model_path, device if n_jobs == 1 else "cpu")
        layout = det.layout if isinstance(det.layout, str) else "coco17"
        gap = check_int("max_gap", max_gap, 0)
        windowing = Windowing.test(mode, int(det.input_shape_[0]), gap)
        seg_scores = score_sources(
            model_path, pose_dir, windowing, fmt=fmt, layout=layout, device=device,
            n_jobs=n_jobs, threads=threads,
        )  # fmt: skip
    finally:
        release_models()
    if masks is not None:
        missing = [c for c in seg_scores.clip_ids if c not in masks]
        if missing:
            raise ValueError(f"gt_dir={str(gt_dir)!r} has no mask for clip(s) {missing[:5]}")
    frames = to_frames(seg_scores, masks)
    info = {"mode": mode, "model": str(model_path), "seg_len": windowing.seg_len,
            "max_gap": windowing.max_gap,
            "clip_lengths": "masks" if masks is not None else "last posed frame"}  # fmt: skip
    paths = _write_scores(frames, Path(out_dir), info)
    if plot:
        paths["plots"] = _plot(frames, masks, Path(out_dir) / "plots")
    return ScoredFolder(frames=frames, paths=paths)


def _write_scores(frames: FrameScores, out: Path, info: dict[str, Any]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out, "scores": out / SCORES_FILE, "tracked": out / TRACKED_FILE,
             "info": out / INFO_FILE}  # fmt: skip
    np.savez(paths["scores"], **frames.scores)
    np.savez(paths["tracked"], **frames.tracked)
    paths["info"].write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    for cid, s in frames.scores.items():
        with open(out / f"{cid}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["frame", "score", "tracked"])
            for i, (v, t) in enumerate(zip(s, frames.tracked[cid], strict=True)):
                w.writerow([i, f"{v:.6g}", int(t)])
    return paths


def _plot(frames: FrameScores, masks: dict[str, np.ndarray] | None, folder: Path) -> Path:
    from pyod_dsnf.evaluation import plot_frame_scores

    folder.mkdir(parents=True, exist_ok=True)
    import matplotlib.pyplot as plt

    for cid, s in frames.scores.items():
        mask = masks[cid] if masks is not None else None
        plt.close(plot_frame_scores(s, mask, folder / f"{cid}.png", title=cid))
    return folder


def _load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what}={str(path)!r} is not a readable .npz file ({exc})") from None


def read_scores(scores: str | os.PathLike) -> FrameScores:
    """Read the output of :func:`score_pose_dir` back (the folder or its :data:`SCORES_FILE`)."""
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
    if not raw:
        raise ValueError(f"scores={str(p)!r} holds no clip")
    tracked_file = folder / TRACKED_FILE
    tracked = _load_npz(tracked_file, "tracked") if tracked_file.is_file() else None
    mode = "unknown"
    if (folder / INFO_FILE).is_file():
        try:
            mode = str(json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))["mode"])
        except (ValueError, KeyError, TypeError):
            mode = "unknown"
    return FrameScores(mode=mode, scores=raw, tracked=tracked)


def evaluate_scores(scores: str | os.PathLike, gt_dir: str | os.PathLike) -> dict[str, Any]:
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
        The fields of :class:`~pyod_dsnf.pipeline.FrameMetrics`: ``mode`` (the
        mapping the scores were made with; ``"unknown"`` for scores without
        :data:`INFO_FILE`), ``auc_roc`` (all frames), ``auc_roc_person_frames``
        (NaN without :data:`TRACKED_FILE`), ``auc_roc_macro``, ``n_macro_clips``,
        ``auc_pr``, ``eer`` and frame counts. ``FrameMetrics(**result).lines()``
        prints them, each named with its mapping.

    Notes
    -----
    A clip with a mask but no scores (no pose file: nobody detected) and the
    frames of a mask beyond a clip's scores get the lowest score of the whole
    set, the rule of :func:`pyod_dsnf.evaluation.frame_scores`. Scores longer
    than their mask, or scores of a clip without a mask, raise ``ValueError``.
    """
    frames = read_scores(scores)
    masks = load_masks_dir(gt_dir)
    extra = sorted(set(frames.scores) - set(masks))
    if extra:
        raise ValueError(f"gt_dir={str(gt_dir)!r} has no mask for scored clip(s) {extra[:5]}")
    return metrics(frames, masks).as_dict()
