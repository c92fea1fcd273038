"""Poses from the tools people use: one entry point, :func:`load_poses`.

Formats (``docs/data.md`` has each one's fields and an example under
``tests/data/formats/``):

``"tracked"``
    Our tracked-person JSON (:func:`pyod_dsnf.poses.load_tracks`).
``"alphapose"``
    AlphaPose's ``alphapose-results.json``, with or without tracker ids.
``"openpose"``
    A folder of OpenPose ``*_keypoints.json`` files (BODY_25 or COCO-18).
``"mmpose"``
    MMPose / RTMPose predictions (inferencer ``pred_out_dir`` files or folders,
    or the demo's ``--save-predictions`` file).

Formats without person ids get them from the Norfair tracker (the optional
``[track]`` extra).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pyod_dsnf.poses.formats._common import (
    Detections,
    TrackerFn,
    check_layout,
    to_clip,
)
from pyod_dsnf.poses.formats.alphapose import looks_like_alphapose, read_alphapose
from pyod_dsnf.poses.formats.mmpose import looks_like_mmpose, mmpose_image_files, read_mmpose
from pyod_dsnf.poses.formats.openpose import OPENPOSE_SUFFIX, read_openpose
from pyod_dsnf.poses.formats.tracking import track_keypoints
from pyod_dsnf.poses.tracks import (
    TRACK_FILE_SUFFIX,
    Clip,
    clip_id_from_path,
    load_tracks,
    read_pose_json,
)

__all__ = ["FORMATS", "detect_format", "load_poses", "track_keypoints"]

#: Formats :func:`load_poses` reads.
FORMATS = ("tracked", "alphapose", "openpose", "mmpose")

_HINT = (
    "expected our tracked-person JSON, AlphaPose's alphapose-results.json, a folder of "
    "OpenPose *_keypoints.json files or an MMPose prediction file/folder; pass format= "
    f"one of {FORMATS} to say which"
)


def _looks_like_tracked(data: object) -> bool:
    if not isinstance(data, dict) or not data:
        return False
    key, value = next(iter(data.items()))
    return key.lstrip("+-").isdigit() and isinstance(value, dict)


def _detect(path: Path) -> tuple[str, object, bool]:
    """(format, parsed JSON or None, has_bools) of a file or folder."""
    if path.is_dir():
        if any(f.name.endswith(OPENPOSE_SUFFIX) for f in path.iterdir()):
            return "openpose", None, True
        if any(f.name.endswith(TRACK_FILE_SUFFIX) for f in path.iterdir()):
            raise ValueError(
                f"{path}: a folder of tracked-person files holds several clips; load each "
                "file with load_poses(file) (or the whole folder with pyod_dsnf.poses.load_folder)"
            )
        if mmpose_image_files(path):
            return "mmpose", None, True
        raise ValueError(f"{path}: cannot tell the pose format of this folder; {_HINT}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.name.endswith(OPENPOSE_SUFFIX):
        return "openpose", None, True
    data, has_bools = read_pose_json(path)
    if isinstance(data, dict) and isinstance(data.get("people"), list):
        return "openpose", None, True
    if looks_like_alphapose(data):
        return "alphapose", data, has_bools
    if looks_like_mmpose(data):
        return "mmpose", data, has_bools
    if _looks_like_tracked(data):
        return "tracked", None, True
    what = "an empty list" if data == [] else ("an empty object" if data == {} else "its content")
    raise ValueError(f"{path}: cannot tell the pose format from {what}; {_HINT}")


def detect_format(path: str | os.PathLike) -> str:
    """Which of :data:`FORMATS` a file or folder is in.

    Raises
    ------
    ValueError
        When the content matches none of them (the message lists what was expected).
    """
    return _detect(Path(path))[0]


def _default_clip_id(path: Path, fmt: str) -> str:
    if path.is_dir():
        return path.name
    if fmt == "tracked":
        return clip_id_from_path(path)
    if fmt == "openpose":
        return path.parent.name
    stem = path.stem
    return path.parent.name if stem == "alphapose-results" and path.parent.name else stem


def _clip_detections(clip: Clip) -> Detections:
    tracks = [t for t in clip.tracks if len(t)]
    if not tracks:
        return Detections(np.zeros(0, np.int64), np.zeros((0, 17, 3)), np.zeros(0), None, [],
                          clip.path or Path("."))  # fmt: skip
    frame = np.concatenate([t.frames for t in tracks])
    return Detections(
        frame=frame,
        keypoints=np.concatenate([t.keypoints for t in tracks]).astype(np.float64),
        score=np.concatenate([t.scores for t in tracks]).astype(np.float64),
        person=np.concatenate([np.full(len(t), t.person, np.int64) for t in tracks]),
        where=[f"person {t.person} frame {f}" for t in tracks for f in t.frames],
        path=clip.path or Path("."),
    )


def load_poses(
    path: str | os.PathLike,
    format: str = "auto",
    *,
    layout: str = "coco17",
    tracker: str | TrackerFn = "auto",
    clip_id: str | None = None,
) -> Clip:
    """Read the poses of one clip from any supported pose estimator's output.

    Parameters
    ----------
    path : str or path-like
        A file (tracked-person JSON, ``alphapose-results.json``, an MMPose
        prediction file, one OpenPose frame) or a folder (OpenPose
        ``*_keypoints.json`` files, MMPose per-image files).
    format : {"auto", "tracked", "alphapose", "openpose", "mmpose"}, default="auto"
        ``"auto"`` tells the format from the file name and content.
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout of the returned keypoints (mappings in ``docs/data.md``).
    tracker : {"auto", "norfair", "none"} or callable, default="auto"
        How person ids are found. ``"auto"``: the file's ids where it has them
        (tracked JSON, AlphaPose run with its tracker), else the Norfair
        tracker (:func:`track_keypoints`, needs ``pip install
        'pyod-dsnf[track]'``). ``"norfair"``: always re-track. ``"none"``: never
        track (an error for a format without ids). A callable gets
        ``(frames (n,), keypoints (n, V, 3))`` sorted by frame and returns
        ``n`` integer ids.
    clip_id : str, optional
        Clip id; by default the file name (tracked: without its suffix), the
        folder name for a folder, OpenPose frame or ``alphapose-results.json``.

    Returns
    -------
    Clip
        One track per person id, frames ascending, keypoints float32 pixels
        with confidence; a confidence of 0 (undetected joint) is kept, and
        :func:`pyod_dsnf.poses.fill_gaps` treats it as missing.

    Raises
    ------
    ValueError
        For an unknown format, content the format does not allow, or a folder
        or file whose format cannot be told; the message names the file, the
        frame and the field.
    ImportError
        When ids must be assigned and Norfair is not installed.

    Examples
    --------
    >>> clip = load_poses("alphapose-results.json")  # doctest: +SKIP
    >>> clip = load_poses("openpose_json/", layout="openpose18")  # doctest: +SKIP
    """
    path = Path(path)
    layout = check_layout(layout)
    if format == "auto":
        fmt, data, has_bools = _detect(path)
    elif format in FORMATS:
        fmt, data, has_bools = format, None, True
    else:
        raise ValueError(f"format must be 'auto' or one of {FORMATS}, got {format!r}")
    cid = clip_id if clip_id is not None else _default_clip_id(path, fmt)
    if fmt == "tracked":
        clip = load_tracks(path, layout=layout, clip_id=cid)
        if tracker in ("auto", "none"):
            return clip
        det = _clip_detections(clip)
    elif fmt == "alphapose":
        det = read_alphapose(path, layout=layout, data=data, has_bools=has_bools)
    elif fmt == "openpose":
        det = read_openpose(path, layout=layout)
    else:
        det = read_mmpose(path, layout=layout, data=data, has_bools=has_bools)
    return to_clip(det, cid, tracker)
