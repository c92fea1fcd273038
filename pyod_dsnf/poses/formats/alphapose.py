"""AlphaPose's raw ``alphapose-results.json`` (its default, COCO-style output).

One JSON list with one object per detected person per image::

    [{"image_id": "0.jpg", "category_id": 1,
      "keypoints": [x0, y0, c0, x1, y1, c1, ...], "score": 2.93,
      "box": [x, y, w, h], "idx": 3}, ...]

* ``image_id`` is the image (or video frame: ``"0.jpg"``, ``"1.jpg"``, ...)
  name; the frame index is the last run of digits in it. With ``--eval`` it is
  an integer, used as it is.
* ``keypoints`` holds 17 (COCO), 26 (Halpe-26), 133 (COCO-WholeBody) or 136
  (Halpe-136) joints; all of these start with the 17 COCO body joints in the
  COCO order, which are the ones kept.
* ``idx`` is a person (track) id when AlphaPose ran its tracker
  (``--pose_track`` or ``--pose_flow``): an integer. Without a tracker it is
  absent or a list of the merged boxes' ids (all zeros): not a person id, so
  the detections carry no ids and a tracker assigns them.
* ``score`` (the person score of its pose NMS), ``box`` and ``category_id``
  are optional; the score is kept as ``Track.scores``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyod_dsnf.poses.formats._common import (
    Detections,
    check_values,
    coco17_to,
    frame_from_name,
    is_number,
    keypoint_rows,
    parse_index,
)
from pyod_dsnf.poses.tracks import read_pose_json

__all__ = ["ALPHAPOSE_JOINT_COUNTS", "looks_like_alphapose", "read_alphapose"]

#: Joint counts AlphaPose writes whose first 17 joints are COCO-17 in order.
ALPHAPOSE_JOINT_COUNTS = (17, 26, 133, 136)


def looks_like_alphapose(data: object) -> bool:
    """A non-empty list whose first item has ``image_id`` and ``keypoints``."""
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], dict)
        and "image_id" in data[0]
        and "keypoints" in data[0]
    )


def _frame(image_id: object, where: str, path: Path) -> int:
    if isinstance(image_id, str):
        return frame_from_name(Path(image_id).stem, path, f"{where}: image_id")
    return parse_index(image_id, "'image_id'", where, path)


def _person(idx: object, where: str, path: Path) -> int | None:
    """The tracker id, or None where ``idx`` is absent or the untracked list form."""
    if idx is None or isinstance(idx, list):
        return None
    return parse_index(idx, "'idx' (the tracker's person id)", where, path)


def read_alphapose(
    path: str | Path, *, layout: str = "coco17", data: object = None, has_bools: bool = True
) -> Detections:
    """Read ``alphapose-results.json`` into :class:`Detections` (internal).

    ``data`` is the already parsed JSON (auto-detection parses it once).
    """
    path = Path(path)
    if data is None:
        data, has_bools = read_pose_json(path)
    if not isinstance(data, list):
        raise ValueError(
            f"{path}: expected a JSON list of detections (AlphaPose results), "
            f"got {type(data).__name__}"
        )
    frames, rows, scores, persons, where = [], [], [], [], []
    frame_of: dict[object, int] = {}  # image_id -> frame (a video has ~10 people per image)
    for k, item in enumerate(data):
        here = f"detection {k}"
        if not isinstance(item, dict):
            raise ValueError(f"{path}: {here}: expected an object, got {type(item).__name__}")
        for key in ("image_id", "keypoints"):
            if key not in item:
                raise ValueError(f"{path}: {here}: missing field {key!r}")
        image_id = item["image_id"]
        frame = frame_of.get(image_id) if isinstance(image_id, str) else None
        if frame is None:
            frame = _frame(image_id, here, path)
            if isinstance(image_id, str):
                frame_of[image_id] = frame
        here = f"detection {k} (image_id {image_id!r:.40}, frame {frame})"
        frames.append(frame)
        where.append(here)
        rows.append(item["keypoints"])
        score = item.get("score")
        if score is None:
            scores.append(np.nan)
        elif is_number(score) and not np.isinf(score):
            scores.append(float(score))
        else:
            raise ValueError(f"{path}: {here}: 'score' must be a finite number, got {score!r:.40}")
        persons.append(_person(item.get("idx"), here, path))
    tracked = [p is not None for p in persons]
    if any(tracked) and not all(tracked):
        i = tracked.index(not tracked[0])
        raise ValueError(
            f"{path}: {where[i]}: 'idx' is {'a person id' if tracked[i] else 'missing'} here "
            f"but {'missing' if tracked[i] else 'a person id'} in detection 0; a file holds "
            "tracker ids for every detection or for none"
        )
    n_values = tuple(3 * v for v in ALPHAPOSE_JOINT_COUNTS)
    if rows:
        arr = keypoint_rows(rows, where, n_values, "keypoints", path, has_bools)
        kp = arr.reshape(len(rows), -1, 3)[:, :17, :].copy()
    else:
        kp = np.zeros((0, 17, 3))
    n_nan = check_values(kp, where, path)
    return Detections(
        frame=np.asarray(frames, dtype=np.int64),
        keypoints=coco17_to(layout, kp),
        score=np.asarray(scores, dtype=np.float64),
        person=np.asarray(persons, dtype=np.int64) if rows and all(tracked) else None,
        where=where,
        path=path,
        n_nan_confidence=n_nan,
    )
