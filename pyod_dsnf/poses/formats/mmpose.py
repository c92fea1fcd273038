"""MMPose / RTMPose prediction files.

Three shapes, all built from mmpose's per-instance dicts
``{"keypoints": [[x, y], ...], "keypoint_scores": [s, ...], "bbox": [[x1, y1, x2, y2]],
"bbox_score": s}`` (``bbox`` and ``bbox_score`` optional):

* ``MMPoseInferencer(..., pred_out_dir=DIR)`` on a **video** writes
  ``DIR/<video>.json``: ``[{"frame_id": 0, "instances": [...]}, ...]`` with
  0-based frame ids.
* The same on **images** writes one ``DIR/<image>.json`` per image holding the
  list of instances; read the folder, the frame index is the last run of
  digits in each file name.
* ``demo/topdown_demo_with_mmdet.py --save-predictions`` writes
  ``{"meta_info": {...}, "instance_info": [{"frame_id": 1, "instances": [...]}, ...]}``
  for a video, with frame ids counted from 1: they are shifted to 0-based
  video frames (frame_id 1 -> frame 0). For an image, ``instance_info`` is the
  list of instances itself (frame 0).

Keypoints: 17 (COCO), 26 (Halpe-26, RTMPose ``body8-halpe26``) or 133
(COCO-WholeBody, RTMW / DWPose) joints, whose first 17 are COCO-17 in order
and are kept. The scores are mmpose's keypoint scores (heatmap maxima or
SimCC confidences; not always in [0, 1]). MMPose does not track people, so a
tracker assigns ids.
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

__all__ = ["MMPOSE_JOINT_COUNTS", "looks_like_mmpose", "mmpose_image_files", "read_mmpose"]

#: Joint counts whose first 17 joints are COCO-17 in order.
MMPOSE_JOINT_COUNTS = (17, 26, 133)


def _is_instance(item: object) -> bool:
    return isinstance(item, dict) and "keypoints" in item and "keypoint_scores" in item


def looks_like_mmpose(data: object) -> bool:
    """The demo's dict, a video's frame list, or one image's instance list."""
    if isinstance(data, dict):
        return "instance_info" in data
    if isinstance(data, list) and data:
        first = data[0]
        return (isinstance(first, dict) and "frame_id" in first and "instances" in first) or (
            _is_instance(first)
        )
    return False


def mmpose_image_files(folder: Path) -> list[Path]:
    """The ``*.json`` files of a folder whose content is a list of mmpose instances."""
    out = []
    for f in sorted(folder.glob("*.json")):
        try:
            data, _ = read_pose_json(f)
        except ValueError:
            return []
        if not (isinstance(data, list) and (not data or _is_instance(data[0]))):
            return []
        out.append(f)
    return out


def _frames_of(data: object, path: Path) -> tuple[list[tuple[int, object]], int]:
    """``[(frame, instances), ...]`` and the frame offset applied, from one parsed file."""
    offset = 0
    if isinstance(data, dict):
        if "instance_info" not in data:
            raise ValueError(
                f"{path}: expected an mmpose prediction file: a JSON list of frames or "
                "instances, or an object with 'instance_info' (--save-predictions)"
            )
        data = data["instance_info"]
        offset = 1  # the demo counts video frames from 1
        if isinstance(data, list) and (not data or _is_instance(data[0])):
            return [(0, data)], 0  # an image: the instance list itself
    if not isinstance(data, list):
        raise ValueError(
            f"{path}: expected a JSON list of frames or instances, got {type(data).__name__}"
        )
    if data and _is_instance(data[0]):
        return [(0, data)], 0
    out = []
    for k, item in enumerate(data):
        if not isinstance(item, dict) or "frame_id" not in item or "instances" not in item:
            raise ValueError(
                f"{path}: entry {k}: expected an object with 'frame_id' and 'instances', got "
                f"{item!r:.80}"
            )
        frame = parse_index(item["frame_id"], "'frame_id'", f"entry {k}", path)
        if frame < offset:
            raise ValueError(
                f"{path}: entry {k}: frame_id {frame} but --save-predictions counts frames "
                "from 1"
            )
        out.append((frame - offset, item["instances"]))
    return out, offset


def read_mmpose(
    path: str | Path, *, layout: str = "coco17", data: object = None, has_bools: bool = True
) -> Detections:
    """Read an mmpose prediction file, or a folder of per-image ones (internal)."""
    path = Path(path)
    if path.is_dir():
        files = mmpose_image_files(path)
        if not files:
            raise ValueError(
                f"{path}: no mmpose per-image prediction files (*.json holding a list of "
                "instances with 'keypoints' and 'keypoint_scores') in this folder"
            )
        per_frame = []
        any_bools = False
        for f in files:
            d, b = read_pose_json(f)
            any_bools = any_bools or b
            per_frame.append((frame_from_name(f.stem, f, "file name"), d, f.name))
        seen: dict[int, str] = {}
        for frame, _, name in per_frame:
            if frame in seen:
                raise ValueError(f"{path}: {name} and {seen[frame]} are both frame {frame}")
            seen[frame] = name
        has_bools = any_bools
    else:
        if data is None:
            data, has_bools = read_pose_json(path)
        frames, _ = _frames_of(data, path)
        per_frame = [(frame, inst, None) for frame, inst in frames]
    frames_out, kps, scs, boxes, where = [], [], [], [], []
    seen_frames: set[int] = set()
    for frame, instances, name in per_frame:
        prefix = f"{name}: " if name else ""
        if name is None and frame in seen_frames:
            raise ValueError(f"{path}: frame {frame} occurs twice")
        seen_frames.add(frame)
        if not isinstance(instances, list):
            raise ValueError(
                f"{path}: {prefix}frame {frame}: 'instances' must be a list, got "
                f"{type(instances).__name__}"
            )
        for k, inst in enumerate(instances):
            here = f"{prefix}frame {frame} instance {k}"
            if not _is_instance(inst):
                raise ValueError(
                    f"{path}: {here}: expected an object with 'keypoints' and "
                    f"'keypoint_scores', got {inst!r:.80}"
                )
            xy = inst["keypoints"]
            if not isinstance(xy, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in xy
            ):
                raise ValueError(
                    f"{path}: {here}: 'keypoints' must be a list of [x, y] pairs, got "
                    f"{xy!r:.60}"
                )
            frames_out.append(frame)
            where.append(here)
            kps.append([v for p in xy for v in p])
            scs.append(inst["keypoint_scores"])
            boxes.append(_bbox_score(inst.get("bbox_score"), here, path))
    n = len(kps)
    if n == 0:
        v = 17 if layout == "coco17" else 18
        return Detections(np.zeros(0, np.int64), np.zeros((0, v, 3)), np.zeros(0), None, [], path)
    xy = keypoint_rows(kps, where, tuple(2 * v for v in MMPOSE_JOINT_COUNTS), "keypoints", path,
                       has_bools)  # fmt: skip
    n_joints = xy.shape[1] // 2
    sc = keypoint_rows(scs, where, (n_joints,), "keypoint_scores", path, has_bools)
    kp = np.concatenate([xy.reshape(n, n_joints, 2), sc[:, :, None]], axis=2)[:, :17].copy()
    n_nan = check_values(kp, where, path)
    return Detections(
        frame=np.asarray(frames_out, dtype=np.int64),
        keypoints=coco17_to(layout, kp),
        score=np.asarray(boxes, dtype=np.float64),
        person=None,
        where=where,
        path=path,
        n_nan_confidence=n_nan,
    )


def _bbox_score(value: object, where: str, path: Path) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, list) and len(value) == 1:  # some versions write [s]
        value = value[0]
    if not is_number(value) or np.isinf(value):  # type: ignore[arg-type]
        raise ValueError(f"{path}: {where}: 'bbox_score' must be a number, got {value!r:.40}")
    return float(value)  # type: ignore[arg-type]
