"""Write a :class:`~pyod_dsnf.datasets.PoseDataset` to disk in the layout ``load_dataset`` reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pyod_dsnf.datasets.folder import PoseDataset
from pyod_dsnf.poses import TRACK_FILE_SUFFIX, Clip

__all__ = ["save_pose_dataset", "save_tracks"]


def save_tracks(clip: Clip, path: str | os.PathLike) -> Path:
    """Write one clip as a tracked-person JSON file (docs/data.md).

    Keypoints are written in COCO-17 order as ``[x0, y0, c0, x1, ...]``; a NaN
    person score is written as ``null``.
    """
    data: dict[str, dict[str, dict]] = {}
    for t in clip.tracks:
        if t.keypoints.shape[1] != 17:
            raise ValueError(
                f"clip {clip.clip_id!r} has {t.keypoints.shape[1]} joints; the tracked-person "
                "format holds 17 (COCO) joints"
            )
        frames = {}
        for f, kp, s in zip(t.frames, t.keypoints, t.scores, strict=True):
            frames[str(int(f))] = {
                "keypoints": [float(v) for v in kp.reshape(-1)],
                "scores": None if not np.isfinite(s) else float(s),
            }
        data[str(int(t.person))] = frames
    path = Path(path)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def save_pose_dataset(ds: PoseDataset, root: str | os.PathLike) -> Path:
    """Write ``pose/train``, ``pose/test`` and ``gt/test_frame_mask`` under ``root``.

    Parameters
    ----------
    ds : PoseDataset
        For example from :func:`pyod_dsnf.datasets.make_pose_tracks`.
    root : str or path
        Created if needed; existing files of the same names are overwritten.

    Returns
    -------
    Path
        ``root``, ready for :func:`pyod_dsnf.datasets.load_dataset` and the
        ``pyod-dsnf`` command line.

    Examples
    --------
    >>> from pyod_dsnf.datasets import make_pose_tracks
    >>> ds = make_pose_tracks(2, 2, random_state=0)
    >>> root = save_pose_dataset(ds, "synthetic")  # doctest: +SKIP
    """
    root = Path(root)
    for split, clips in (("train", ds.train), ("test", ds.test)):
        d = root / "pose" / split
        d.mkdir(parents=True, exist_ok=True)
        for clip in clips:
            save_tracks(clip, d / f"{clip.clip_id}{TRACK_FILE_SUFFIX}")
    gt = root / "gt" / "test_frame_mask"
    gt.mkdir(parents=True, exist_ok=True)
    for cid, mask in ds.masks.items():
        np.save(gt / f"{cid}.npy", np.asarray(mask, dtype=np.int8))
    return root
