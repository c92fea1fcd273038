"""Directory loader for the usual pose-dataset layout.

::

    root/pose/train/<clip>_alphapose_tracked_person.json   normal clips (training)
    root/pose/test/<clip>_alphapose_tracked_person.json    test clips
    root/gt/test_frame_mask/<clip>.npy                     one 0/1 label per test frame

This is the STG-NF layout of ShanghaiTech and of the PoseLift release. See
``docs/data.md``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyod_dsnf.poses.sources import DEFAULT_FORMAT, existing_dir, load_folder
from pyod_dsnf.poses.tracks import Clip

__all__ = ["PoseDataset", "load_dataset", "load_mask", "load_masks"]


@dataclass
class PoseDataset:
    """Train and test clips with the test clips' frame masks.

    Parameters
    ----------
    train : list of Clip
        Training clips (normal behaviour), sorted by clip id.
    test : list of Clip
        Test clips, sorted by clip id; one per mask.
    masks : dict of str to ndarray
        Per test clip, an int8 array with one value per frame: 1 = anomalous.
        Every mask is longer than its clip's last posed frame.
    behaviours : dict of str to ndarray, optional
        Synthetic data only: per test clip and frame, the code of the abnormal
        behaviour (0 = normal); see :data:`pyod_dsnf.datasets.BEHAVIOURS`.
    """

    train: list[Clip]
    test: list[Clip]
    masks: dict[str, np.ndarray]
    behaviours: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_test_frames(self) -> int:
        return int(sum(m.shape[0] for m in self.masks.values()))

    @property
    def n_anomalous_frames(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks.values()))


def load_mask(path: str | Path) -> np.ndarray:
    """Read one frame mask (``.npy``, 1-D, values 0/1) as int8."""
    path = Path(path)
    try:
        mask = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(mask, np.ndarray):  # np.load opens .npz archives whatever the suffix
        if hasattr(mask, "close"):
            mask.close()
        raise ValueError(f"{path}: expected a .npy array, got a {type(mask).__name__} archive")
    if mask.ndim != 1:
        raise ValueError(f"{path}: a frame mask must be 1-D, got shape {mask.shape}")
    if mask.dtype.kind not in "biuf" or not np.isin(mask, (0, 1)).all():
        raise ValueError(f"{path}: a frame mask must hold only 0 and 1")
    return mask.astype(np.int8)


def load_masks(gt_dir: str | os.PathLike, *, name: str = "gt_dir") -> dict[str, np.ndarray]:
    """Read every ``<clip>.npy`` frame mask of a folder (:func:`load_mask`), by clip id.

    Raises ``ValueError`` naming ``name`` when the folder is missing or holds no mask.
    """
    d = existing_dir(gt_dir, name)
    files = sorted(d.glob("*.npy"))
    if not files:
        raise ValueError(f"{name}={str(d)!r} holds no <clip>.npy frame masks")
    return {f.stem: load_mask(f) for f in files}


def load_dataset(
    root: str | Path,
    *,
    layout: str = "coco17",
    masks_dir: str = "gt/test_frame_mask",
    nan_confidence: str = "zero",
    fmt: str = DEFAULT_FORMAT,
) -> PoseDataset:
    """Load ``pose/train``, ``pose/test`` and the test frame masks under ``root``.

    Parameters
    ----------
    root : str or Path
        Dataset root.
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout of the returned keypoints (see :func:`~pyod_dsnf.poses.load_tracks`).
    masks_dir : str, default="gt/test_frame_mask"
        Folder of the masks, relative to ``root``.
    nan_confidence : {"zero", "raise"}, default="zero"
        See :func:`~pyod_dsnf.poses.load_tracks`; with ``"zero"`` one warning per folder gives
        the total count.
    fmt : str, default="tracked"
        Pose format of the clips (:func:`pyod_dsnf.poses.pose_formats`).

    Returns
    -------
    PoseDataset
        Raw tracks (gaps not filled; see :func:`pyod_dsnf.poses.fill_gaps`).

    Raises
    ------
    ValueError
        When a folder is missing, a test clip has no mask, or a mask is shorter
        than the frames that carry poses (the message names the file).

    Notes
    -----
    A mask without a pose file is a test clip in which nobody was detected: it
    is kept as a clip with no tracks (its frames get the lowest anomaly score in
    evaluation) and a warning says how many there are.

    Examples
    --------
    >>> ds = load_dataset("../shared/data/poselift")  # doctest: +SKIP
    >>> len(ds.train), len(ds.test), ds.n_test_frames  # doctest: +SKIP
    (104, 47, 4846)
    """
    root = Path(root)
    for sub in ("pose/train", "pose/test", masks_dir):
        if not (root / sub).is_dir():
            raise ValueError(f"root={str(root)!r} has no folder {sub!r}")
    kw = {"fmt": fmt, "layout": layout, "nan_confidence": nan_confidence}
    train = load_folder(root / "pose" / "train", name="pose/train", **kw)
    test = load_folder(root / "pose" / "test", name="pose/test", **kw)
    masks = load_masks(root / masks_dir, name=masks_dir)
    by_id = {c.clip_id: c for c in test}
    missing = sorted(set(by_id) - set(masks))
    if missing:
        raise ValueError(
            f"{root / masks_dir}: no mask for test clip(s) {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''} (expected <clip>.npy)"
        )
    for clip in test:
        mask = masks[clip.clip_id]
        if mask.shape[0] <= clip.last_frame:
            raise ValueError(
                f"{root / masks_dir / (clip.clip_id + '.npy')}: mask has {mask.shape[0]} frames "
                f"but {clip.path} carries poses up to frame {clip.last_frame}"
            )
    empty = sorted(set(masks) - set(by_id))
    if empty:
        warnings.warn(
            f"{len(empty)} mask(s) have no pose file in {root / 'pose' / 'test'} "
            f"(e.g. {empty[0]!r}); kept as test clips without tracks",
            stacklevel=2,
        )
        for cid in empty:
            by_id[cid] = Clip(clip_id=cid, tracks=[], path=None)
    test = [by_id[cid] for cid in sorted(by_id)]
    return PoseDataset(train=train, test=test, masks={c.clip_id: masks[c.clip_id] for c in test})
