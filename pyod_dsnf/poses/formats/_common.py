"""What the pose-estimator loaders share: JSON reading, keypoint checks, building a Clip.

Each loader turns its file(s) into :class:`Detections` (one row per detected
person in one frame, keypoints already in the requested layout, a person id
where the format carries one); :func:`to_clip` groups them into tracks, calling
a tracker when there are no ids. Errors are ``ValueError`` whose message starts
with the file and names the frame and field, as in :mod:`pyod_dsnf.poses.tracks`.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyod_dsnf._checks import is_int
from pyod_dsnf.poses.skeletons import coco17_to_openpose18, get_layout
from pyod_dsnf.poses.tracks import (
    _MAX_VALUE,
    MAX_INDEX,
    Clip,
    Track,
    check_keypoint_values,
)

__all__ = ["Detections", "check_layout", "to_clip"]

#: A tracker: (frames (n,), keypoints (n, V, 3)) -> person ids (n,), int64.
TrackerFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def check_layout(layout: str) -> str:
    """The layout name, ``"coco17"`` or ``"openpose18"``; anything else raises."""
    graph = get_layout(layout)
    if graph.name not in ("coco17", "openpose18"):
        raise ValueError(f"layout must be 'coco17' or 'openpose18', got {layout!r}")
    return graph.name




def is_number(value: object) -> bool:
    """A JSON number (not a bool) within the float32 range (NaN allowed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, float) or abs(value) <= _MAX_VALUE


def frame_from_name(
    name: str, path: Path, what: str, example: str = "e.g. '000123.jpg'"
) -> int:
    """The last run of ASCII digits in ``name`` (an image or file name) as a frame index.

    ValueError naming ``path``, ``what`` and ``name`` (and ``example`` of a good
    name) when there is none, or when it exceeds ``MAX_INDEX``.
    """
    digits = re.findall(r"[0-9]+", name)
    if not digits:
        raise ValueError(
            f"{path}: {what} {name!r:.60} holds no frame number (expected digits, {example})"
        )
    value = int(digits[-1])
    if value > MAX_INDEX:
        raise ValueError(f"{path}: {what} {name!r:.60} exceeds the largest frame {MAX_INDEX}")
    return value


def keypoint_rows(
    rows: list,
    where: list[str],
    n_values: tuple[int, ...],
    field: str,
    path: Path,
    check_bools: bool,
) -> np.ndarray:
    """Stack flat keypoint lists into ``(n, L)`` float64; errors name the detection.

    ``where[i]`` describes row i (``"frame 7 detection 0"``); every row must hold
    the same number of values, one of ``n_values``. ``check_bools`` looks for
    ``true``/``false`` (which numpy would read as 1/0); pass whether the file's
    text contains them.
    """
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) not in n_values:
            got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
            raise ValueError(
                f"{path}: {where[i]}: {field!r} must be a list of "
                f"{' or '.join(map(str, n_values))} numbers, got {got}"
            )
        if len(row) != len(rows[0]):
            raise ValueError(
                f"{path}: {where[i]}: {field!r} holds {len(row)} values but earlier "
                f"detections hold {len(rows[0])} (one keypoint set per file)"
            )
    try:
        arr = np.array(rows)
        ok = arr.ndim == 2 and arr.dtype.kind in "fiu"
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or check_bools:
        for i, row in enumerate(rows):
            for value in row:
                if not is_number(value):
                    raise ValueError(
                        f"{path}: {where[i]}: {field!r} holds a non-numeric value "
                        f"{value!r:.40}"
                        + (f" (beyond +-{_MAX_VALUE:.3g})" if _is_big_int(value) else "")
                    )
    if not ok:  # every value is a number: e.g. ints beyond int64, within float32 range
        return np.array(rows, dtype=np.float64)
    return arr.astype(np.float64)


def _is_big_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_VALUE


def check_values(kp: np.ndarray, where: list[str], path: Path) -> int:
    """Reject non-finite or huge coordinates; set NaN confidences to 0, return their count."""
    check_keypoint_values(kp, where, path)
    nan = np.isnan(kp[..., 2])
    kp[..., 2][nan] = 0.0
    return int(nan.sum())


def coco17_to(layout: str, kp: np.ndarray) -> np.ndarray:
    """COCO-17 keypoints ``(n, 17, 3)`` in ``layout``."""
    return coco17_to_openpose18(kp) if layout == "openpose18" else kp


@dataclass
class Detections:
    """Detected poses of one clip, one row per (frame, detected person).

    Attributes
    ----------
    frame : ndarray of shape (n,), int64
    keypoints : ndarray of shape (n, V, 3), float64, in the requested layout
    score : ndarray of shape (n,), float64 (NaN where the format has none)
    person : ndarray of shape (n,), int64, or None where the format carries no ids
    where : list of str
        ``"frame F detection K"`` (or the tool's own wording) per row, for errors.
    path : Path
        The file or folder read.
    n_nan_confidence : int
        NaN joint confidences set to 0.
    """

    frame: np.ndarray
    keypoints: np.ndarray
    score: np.ndarray
    person: np.ndarray | None
    where: list[str]
    path: Path
    n_nan_confidence: int = 0


def _resolve_tracker(tracker: str | TrackerFn | None, has_ids: bool) -> TrackerFn | None:
    """The function that assigns ids, or None to keep the file's ids."""
    if callable(tracker):
        return tracker
    if tracker in ("auto", None):
        if has_ids:
            return None
        from pyod_dsnf.poses.formats.tracking import track_keypoints

        return track_keypoints
    if tracker == "norfair":
        from pyod_dsnf.poses.formats.tracking import track_keypoints

        return track_keypoints
    if tracker == "none":
        return None
    raise ValueError(
        f"tracker must be 'auto', 'norfair', 'none' or a callable (frames, keypoints) -> ids, "
        f"got {tracker!r}"
    )


def to_clip(
    det: Detections, clip_id: str, tracker: str | TrackerFn | None = "auto"
) -> Clip:
    """Group detections into one :class:`Track` per person id.

    ``tracker="auto"`` keeps the file's ids and runs the Norfair tracker where
    there are none; ``"norfair"`` always re-tracks; ``"none"`` never tracks
    (an error for a format without ids); a callable gets ``(frame, keypoints)``
    sorted by frame and returns one id per row.
    """
    has_ids = det.person is not None
    fn = _resolve_tracker(tracker, has_ids)
    if det.frame.shape[0] == 0:
        return Clip(clip_id=clip_id, tracks=[], path=det.path)
    order = np.argsort(det.frame, kind="stable")
    frame = det.frame[order]
    kp = det.keypoints[order]
    score = det.score[order]
    where = [det.where[i] for i in order]
    if fn is not None:
        person = np.asarray(fn(frame, kp))
        if person.shape != frame.shape or person.dtype.kind not in "iu":
            raise ValueError(
                f"the tracker returned {person.shape} {person.dtype} ids for {frame.shape[0]} "
                "detections; expected one integer id per detection"
            )
        person = person.astype(np.int64)
    elif has_ids:
        person = det.person[order]  # type: ignore[index]
    else:
        raise ValueError(
            f"{det.path}: the file carries no person ids and tracker='none'; pass "
            "tracker='auto' or 'norfair' (pip install 'pyod-dsnf[track]') to assign them"
        )
    tracks = []
    for pid in np.unique(person):
        rows = np.flatnonzero(person == pid)
        frames = frame[rows]
        dup = np.flatnonzero(np.diff(frames) == 0)
        if dup.size:
            i = rows[dup[0] + 1]
            raise ValueError(
                f"{det.path}: {where[i]}: person id {int(pid)} occurs twice in frame "
                f"{int(frames[dup[0]])}"
            )
        tracks.append(
            Track(
                person=int(pid),
                frames=frames,
                keypoints=kp[rows].astype(np.float32),
                scores=score[rows].astype(np.float32),
            )
        )
    if det.n_nan_confidence:
        warnings.warn(
            f"{det.path}: {det.n_nan_confidence} NaN joint confidences set to 0", stacklevel=3
        )
    return Clip(
        clip_id=clip_id, tracks=tracks, path=det.path, n_nan_confidence=det.n_nan_confidence
    )


def parse_index(value: object, what: str, where: str, path: Path) -> int:
    """A non-negative integer id or frame given as a JSON number (7 or 7.0)."""
    if not is_index(value, 0):
        raise ValueError(
            f"{path}: {where}: {what} must be an integer in [0, {MAX_INDEX}], got {value!r:.40}"
        )
    return int(value)  # type: ignore[arg-type]


def is_index(value: object, low: int) -> bool:
    """An integer (or an integral float such as 7.0) in ``[low, MAX_INDEX]``; no bools."""
    if isinstance(value, bool):
        return False
    if is_int(value):
        return low <= value <= MAX_INDEX
    return isinstance(value, float) and math.isfinite(value) and value.is_integer() and (
        low <= value <= MAX_INDEX
    )
