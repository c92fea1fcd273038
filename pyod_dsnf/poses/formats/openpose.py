"""OpenPose ``--write_json`` output: one ``*_keypoints.json`` file per frame.

Each file (``<video>_000000000042_keypoints.json`` for frame 42 of a video,
``<image>_keypoints.json`` for an image) holds::

    {"version": 1.3,
     "people": [{"person_id": [-1],
                 "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],
                 "face_keypoints_2d": [], "hand_left_keypoints_2d": [], ...}]}

* The frame index is the last run of digits in the file name before
  ``_keypoints.json``.
* ``pose_keypoints_2d`` holds BODY_25 (25 joints, OpenPose's default) or
  COCO-18 (18 joints, ``--model_pose COCO``); MPI (15) is not a layout we
  model. An undetected joint is ``0, 0, 0``: confidence 0, which the gap
  filling treats as missing.
* ``person_id`` is ``[-1]`` (OpenPose does not track), so a tracker assigns
  ids; a non-negative id (written by other tools in this format) is used.

Joint mapping (OpenPose index -> our index)::

    name        BODY_25  COCO-18  openpose18  coco17
    nose           0        0         0          0
    neck           1        1         1          -   (dropped for coco17)
    r_shoulder     2        2         2          6
    r_elbow        3        3         3          8
    r_wrist        4        4         4         10
    l_shoulder     5        5         5          5
    l_elbow        6        6         6          7
    l_wrist        7        7         7          9
    mid_hip        8        -         -          -   (dropped)
    r_hip          9        8         8         12
    r_knee        10        9         9         14
    r_ankle       11       10        10         16
    l_hip         12       11        11         11
    l_knee        13       12        12         13
    l_ankle       14       13        13         15
    r_eye         15       14        14          2
    l_eye         16       15        15          1
    r_ear         17       16        16          4
    l_ear         18       17        17          3
    l/r big toe, small toe, heel  19-24  -  -   -   (dropped)

The neck of ``openpose18`` is OpenPose's detected neck, not the mean of the
shoulders that :func:`pyod_dsnf.poses.skeletons.coco17_to_openpose18` makes from COCO
joints.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from pyod_dsnf.poses.formats._common import (
    Detections,
    check_values,
    frame_from_name,
    is_index,
    keypoint_rows,
)
from pyod_dsnf.poses.tracks import read_pose_json

__all__ = [
    "BODY25_TO_OPENPOSE18",
    "OPENPOSE18_TO_COCO17",
    "OPENPOSE_SUFFIX",
    "openpose_files",
    "read_openpose",
]

OPENPOSE_SUFFIX = "_keypoints.json"

#: openpose18 joint k is BODY_25 joint BODY25_TO_OPENPOSE18[k] (mid-hip and feet dropped).
BODY25_TO_OPENPOSE18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
#: coco17 joint k is openpose18 (= OpenPose COCO-18) joint OPENPOSE18_TO_COCO17[k].
OPENPOSE18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)

_JOINT_COUNTS = {25: "BODY_25", 18: "COCO-18"}


def openpose_files(folder: Path) -> list[tuple[int, Path]]:
    """``(frame, file)`` for every ``*_keypoints.json`` of a folder, sorted by frame."""
    out = []
    for f in folder.iterdir():
        if f.name.endswith(OPENPOSE_SUFFIX) and f.is_file():
            stem = f.name[: -len(OPENPOSE_SUFFIX)]
            example = "as OpenPose writes <name>_<frame>_keypoints.json"
            out.append((frame_from_name(stem, f, "file name", example), f))
    out.sort()
    for (a, fa), (b, fb) in pairwise(out):
        if a == b:
            raise ValueError(f"{fb}: frame {b} is also the frame of {fa.name}")
    return out


def _map(kp: np.ndarray, n_joints: int, layout: str) -> np.ndarray:
    op18 = kp[:, list(BODY25_TO_OPENPOSE18)] if n_joints == 25 else kp
    return op18 if layout == "openpose18" else op18[:, list(OPENPOSE18_TO_COCO17)]


def read_openpose(path: str | Path, *, layout: str = "coco17") -> Detections:
    """Read a folder of OpenPose ``*_keypoints.json`` files (or one such file) (internal)."""
    path = Path(path)
    if path.is_dir():
        files = openpose_files(path)
        if not files:
            raise ValueError(f"{path}: no OpenPose *{OPENPOSE_SUFFIX} files in this folder")
    else:
        files = openpose_files(path.parent)
        files = [(f, p) for f, p in files if p.name == path.name]
        if not files:
            raise ValueError(f"{path}: not an OpenPose *{OPENPOSE_SUFFIX} file")
    frames, rows, persons, where = [], [], [], []
    any_bools = False
    for frame, f in files:
        data, has_bools = read_pose_json(f)
        any_bools = any_bools or has_bools
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise ValueError(
                f"{f}: expected an object with a 'people' list (OpenPose --write_json), got "
                f"{type(data).__name__ if not isinstance(data, dict) else 'no people list'}"
            )
        for k, person in enumerate(data["people"]):
            here = f"{f.name}: frame {frame} person {k}"
            if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
                raise ValueError(f"{path}: {here}: missing field 'pose_keypoints_2d'")
            frames.append(frame)
            where.append(here)
            rows.append(person["pose_keypoints_2d"])
            persons.append(_person_id(person.get("person_id", -1), here, path))
    if not rows:
        return Detections(
            np.zeros(0, np.int64), np.zeros((0, 17 if layout == "coco17" else 18, 3)),
            np.zeros(0), None, [], path,
        )  # fmt: skip
    arr = keypoint_rows(rows, where, (75, 54), "pose_keypoints_2d", path, any_bools)
    n_joints = arr.shape[1] // 3
    kp = arr.reshape(len(rows), n_joints, 3)
    n_nan = check_values(kp, where, path)
    ids = np.asarray(persons, dtype=np.int64)
    has_ids = (ids >= 0).all()
    if (ids >= 0).any() and not has_ids:
        i = int(np.flatnonzero(ids < 0)[0])
        raise ValueError(
            f"{path}: {where[i]}: person_id is -1 here but set elsewhere; a folder holds ids "
            "for every person or for none"
        )
    return Detections(
        frame=np.asarray(frames, dtype=np.int64),
        keypoints=_map(kp, n_joints, layout),
        score=np.full(len(rows), np.nan),
        person=ids if has_ids else None,
        where=where,
        path=path,
        n_nan_confidence=n_nan,
    )


def _person_id(value: object, where: str, path: Path) -> int:
    """OpenPose writes ``[-1]``; accept that, ``-1`` or a non-negative integer."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not is_index(value, -1):
        raise ValueError(
            f"{path}: {where}: 'person_id' must be [-1] (no id) or an integer >= 0, got "
            f"{value!r:.40}"
        )
    return int(value)  # type: ignore[arg-type]
