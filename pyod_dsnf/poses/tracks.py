"""Tracked-person pose files: one JSON file per clip, one track per person.

The format is the one STG-NF uses for ShanghaiTech and UBnormal (AlphaPose +
PoseFlow) and that PoseLift is distributed in::

    {"<person_id>": {"<frame>": {"keypoints": [x, y, c] * 17, "scores": float | null}}}

Files are named ``<scene>_<clip>_alphapose_tracked_person.json``; the clip id is
the file name without that suffix (``01_0222``). Frame keys are decimal strings,
zero-padded or not. See ``docs/data.md``.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyod_dsnf.poses.skeletons import coco17_to_openpose18, get_layout

__all__ = [
    "MAX_INDEX",
    "TRACK_FILE_SUFFIX",
    "Clip",
    "Track",
    "clip_id_from_path",
    "load_tracks",
    "tracked_frames",
]

TRACK_FILE_SUFFIX = "_alphapose_tracked_person.json"

_N_SOURCE_JOINTS = 17  # the tracked-person JSON always holds COCO-17 keypoints

#: Largest frame index (and person id) the loader accepts: 2**31 - 1, i.e. more than two
#: years of video at 30 fps. Larger keys are corrupt files; rejecting them keeps frame
#: arithmetic (gap filling, masks) far from int64 overflow.
MAX_INDEX = 2**31 - 1

#: Largest absolute coordinate or confidence accepted: the float32 range, so that
#: storing keypoints as float32 never turns a finite value into inf.
_MAX_VALUE = float(np.finfo(np.float32).max)


@dataclass
class Track:
    """One tracked person in one clip.

    Parameters
    ----------
    person : int
        Person (track) id from the file. A track split at a long gap keeps its
        id in every piece.
    frames : ndarray of shape (n,), int64
        Frame indices (0-based, as in the file), strictly increasing. Gaps
        (missing frames) are allowed; see :func:`pyod_dsnf.poses.fill_gaps`.
    keypoints : ndarray of shape (n, V, 3), float32
        ``(x, y, confidence)`` per joint in pixel coordinates.
    scores : ndarray of shape (n,), float32
        Per-detection person score; NaN where the file holds ``null``.
    filled : ndarray of shape (n,), bool
        True for frames created by gap interpolation rather than read.
    """

    person: int
    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    filled: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=np.int64)
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        n = self.frames.shape[0]
        if self.filled is None:
            self.filled = np.zeros(n, dtype=bool)
        self.filled = np.asarray(self.filled, dtype=bool)
        if self.frames.ndim != 1:
            raise ValueError(f"frames must be 1-D, got shape {self.frames.shape}")
        if self.keypoints.ndim != 3 or self.keypoints.shape[0] != n or self.keypoints.shape[2] != 3:
            raise ValueError(
                f"keypoints must have shape (n_frames={n}, V, 3), got {self.keypoints.shape}"
            )
        if self.scores.shape != (n,) or self.filled.shape != (n,):
            raise ValueError(
                f"scores and filled must have shape ({n},), got {self.scores.shape} and "
                f"{self.filled.shape}"
            )
        if n > 1 and not (np.diff(self.frames) > 0).all():
            raise ValueError(f"frames of person {self.person} must be strictly increasing")

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def n_joints(self) -> int:
        return int(self.keypoints.shape[1])


@dataclass
class Clip:
    """The tracks of one video clip.

    Parameters
    ----------
    clip_id : str
        Clip id, e.g. ``"01_0222"`` (the file name without its suffix).
    tracks : list of Track
        Tracks in the clip, ordered by person id.
    path : Path or None
        The file the clip was read from, if any.
    n_nan_confidence : int, default=0
        Joint confidences that the file held as NaN and the loader set to 0
        (PoseLift has 38,233 of them, whole poses at a time).
    """

    clip_id: str
    tracks: list[Track]
    path: Path | None = None
    n_nan_confidence: int = 0

    @property
    def last_frame(self) -> int:
        """Highest frame index that carries a pose (-1 for a clip without tracks)."""
        return max((int(t.frames[-1]) for t in self.tracks if len(t)), default=-1)

    @property
    def n_person_frames(self) -> int:
        """Number of (person, frame) poses in the clip."""
        return sum(len(t) for t in self.tracks)

    def tracked_frames(self, n_frames: int) -> np.ndarray:
        """Bool array of length ``n_frames``: True where at least one person is tracked.

        Frames between a track's first and last frame that were filled by
        interpolation count as tracked; frames in a gap that split the track do not.
        """
        if n_frames <= self.last_frame:
            raise ValueError(
                f"n_frames={n_frames} is too short for clip {self.clip_id!r}, whose last posed "
                f"frame is {self.last_frame}"
            )
        out = np.zeros(n_frames, dtype=bool)
        for t in self.tracks:
            out[t.frames] = True
        return out


def tracked_frames(
    clips: Sequence[Clip], n_frames: Mapping[str, int | np.ndarray]
) -> dict[str, np.ndarray]:
    """Per clip of ``n_frames``: True where at least one person is tracked.

    ``n_frames`` gives each clip's frame count or its frame mask (its length is
    used); a clip of ``n_frames`` that ``clips`` lacks (nobody detected) is all False.
    """
    by_id = {c.clip_id: c for c in clips}
    out = {}
    for cid, value in n_frames.items():
        n = len(value) if np.ndim(value) else int(value)
        out[cid] = by_id[cid].tracked_frames(n) if cid in by_id else np.zeros(n, dtype=bool)
    return out


def clip_id_from_path(path: str | Path) -> str:
    """Clip id from a tracked-person file name (the name without its suffix)."""
    name = Path(path).name
    if name.endswith(TRACK_FILE_SUFFIX):
        return name[: -len(TRACK_FILE_SUFFIX)]
    if name.endswith(".json"):
        return name[: -len(".json")]
    return name


def _parse_int(key: object, what: str, path: Path) -> int:
    text = str(key)
    # ASCII digits only: int() would also take " 7", "1_0" (= 10) and non-Latin digits
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(
            f"{path}: {what} {text!r:.40} is not an integer (ASCII decimal digits expected)"
        )
    if text[0] == "-" and digits.strip("0"):
        raise ValueError(f"{path}: {what} {text!r:.40} is negative")
    if len(digits.lstrip("0")) > len(str(MAX_INDEX)) or int(digits) > MAX_INDEX:
        raise ValueError(f"{path}: {what} {text!r:.40} exceeds the largest accepted {MAX_INDEX}")
    return int(digits)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` for json: a key given twice is an error, not "last one wins"."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return out


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _keypoint_array(
    rows: list, frame_keys: list, person: object, path: Path, check_bools: bool
) -> np.ndarray:
    """Stack the per-frame keypoint lists of one person, with errors that name the frame."""
    n_values = 3 * _N_SOURCE_JOINTS
    try:
        arr = np.array(rows)
        ragged = False
    except ValueError:
        ragged = True
    if ragged or arr.ndim != 2 or arr.shape[1] != n_values:
        for key, row in zip(frame_keys, rows, strict=True):
            if not isinstance(row, list) or len(row) != n_values:
                got = len(row) if isinstance(row, list) else type(row).__name__
                raise ValueError(
                    f"{path}: person {person} frame {key}: 'keypoints' must be a list of "
                    f"{n_values} numbers ({_N_SOURCE_JOINTS} COCO joints x [x, y, c]), got {got}"
                )
    # a nested list inside a row makes numpy fail or add a dimension: find the value
    ragged = ragged or arr.ndim != 2
    if ragged or arr.dtype.kind not in "fiu" or check_bools:
        for key, row in zip(frame_keys, rows, strict=True):
            for value in row:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(
                        f"{path}: person {person} frame {key}: keypoints hold a non-numeric "
                        f"value {value!r:.40}"
                    )
    if ragged:  # pragma: no cover - every ragged input holds a non-number found above
        raise ValueError(f"{path}: person {person}: keypoints could not be read")
    if arr.dtype.kind not in "fiu":  # object: Python ints beyond int64
        too_big = [
            key
            for key, row in zip(frame_keys, rows, strict=True)
            if any(isinstance(v, int) and abs(v) > _MAX_VALUE for v in row)
        ]
        if too_big:
            raise ValueError(
                f"{path}: person {person} frame {too_big[0]}: keypoints hold a value beyond "
                f"+-{_MAX_VALUE:.3g} (the float32 range)"
            )
    arr = arr.astype(np.float64).reshape(-1, _N_SOURCE_JOINTS, 3)
    check_keypoint_values(arr, [f"person {person} frame {k}" for k in frame_keys], path)
    return arr


def check_keypoint_values(kp: np.ndarray, where: Sequence[str], path: Path) -> None:
    """Refuse non-finite coordinates, infinite confidences and values beyond float32.

    ``kp`` is ``(n, V, 3)`` (x, y, confidence); ``where[i]`` names pose ``i`` in the
    message (NaN confidences pass: the caller decides what they mean).
    """
    if kp.dtype.kind not in "iuf":  # e.g. null or text in a keypoint list
        number = np.frompyfunc(lambda v: isinstance(v, (int, float, np.number)), 1, 1)
        i = int(np.argwhere(~number(kp).astype(bool))[0, 0]) if kp.ndim else 0
        raise ValueError(
            f"{path}: {where[i]}: keypoints hold a value that is not a number (null or text); "
            "every keypoint value must be a number"
        )
    bad = ~np.isfinite(kp[..., :2]) | np.isinf(kp[..., 2:])
    if bad.any():
        i = int(np.argwhere(bad)[0, 0])
        raise ValueError(
            f"{path}: {where[i]}: keypoints hold a non-finite coordinate or an infinite "
            "confidence"
        )
    with np.errstate(invalid="ignore"):
        big = np.abs(kp) > _MAX_VALUE
    if big.any():
        i = int(np.argwhere(big)[0, 0])
        raise ValueError(
            f"{path}: {where[i]}: keypoints hold a value beyond +-{_MAX_VALUE:.3g} "
            "(the float32 range)"
        )


def read_pose_json(path: Path) -> tuple[object, bool]:
    """Parse a JSON pose file strictly (UTF-8, no duplicate keys); errors name the file.

    Returns the data and whether the text holds ``true`` or ``false`` (numpy would
    read them as 1 / 0 in a keypoint list, so callers look for them only then).
    """
    raw = path.read_bytes()  # OSError (e.g. FileNotFoundError) names the path itself
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is harmless
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a pose file (JSON nested too deeply)") from None
    except _DuplicateKeyError as exc:
        raise ValueError(
            f"{path}: key {exc.key!r:.40} occurs twice in one object (a duplicated person or "
            "frame would silently overwrite the first)"
        ) from None
    return data, ("true" in text or "false" in text)


def load_tracks(
    path: str | Path,
    *,
    layout: str = "coco17",
    clip_id: str | None = None,
    nan_confidence: str = "zero",
) -> Clip:
    """Read one tracked-person JSON file.

    Parameters
    ----------
    path : str or Path
        A ``<scene>_<clip>_alphapose_tracked_person.json`` file.
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout of the returned keypoints. The file holds COCO-17 joints;
        ``"openpose18"`` converts them (neck = mean of the shoulders) with
        :func:`pyod_dsnf.poses.skeletons.coco17_to_openpose18`.
    clip_id : str, optional
        Overrides the id parsed from the file name.
    nan_confidence : {"zero", "raise"}, default="zero"
        A NaN joint confidence (PoseLift has some) means "not detected":
        ``"zero"`` sets it to 0, counts it in ``Clip.n_nan_confidence`` and
        warns; ``"raise"`` raises. NaN or infinite coordinates always raise.

    Returns
    -------
    Clip
        Tracks ordered by person id, frames sorted; keypoints float32 in pixels.

    Raises
    ------
    ValueError
        For invalid JSON, a wrong keypoint count, non-numeric or non-finite
        values, non-integer person ids or frame keys, or duplicate frames
        (``"7"`` and ``"007"``); the message names the file, person and frame.

    Examples
    --------
    >>> clip = load_tracks("pose/test/01_0222_alphapose_tracked_person.json")  # doctest: +SKIP
    >>> clip.clip_id, clip.tracks[0].keypoints.shape  # doctest: +SKIP
    ('01_0222', (84, 17, 3))
    """
    clip = _read_tracks(path, layout=layout, clip_id=clip_id, nan_confidence=nan_confidence)
    if clip.n_nan_confidence:
        warnings.warn(
            f"{path}: {clip.n_nan_confidence} NaN joint confidences set to 0",
            stacklevel=2,
        )
    return clip


def _read_tracks(
    path: str | Path, *, layout: str, clip_id: str | None, nan_confidence: str
) -> Clip:
    path = Path(path)
    if nan_confidence not in ("zero", "raise"):
        raise ValueError(f"nan_confidence must be 'zero' or 'raise', got {nan_confidence!r}")
    graph = get_layout(layout)
    if graph.name not in ("coco17", "openpose18"):
        raise ValueError(f"layout must be 'coco17' or 'openpose18', got {layout!r}")
    data, has_bools = read_pose_json(path)
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a JSON object {{person_id: {{frame: pose}}}}, "
            f"got {type(data).__name__}"
        )
    tracks = []
    n_nan = 0
    for person_key, person_frames in data.items():
        person = _parse_int(person_key, "person id", path)
        if not isinstance(person_frames, dict):
            raise ValueError(
                f"{path}: person {person_key}: expected an object {{frame: pose}}, "
                f"got {type(person_frames).__name__}"
            )
        if not person_frames:
            continue  # an empty track carries no pose
        frame_keys = list(person_frames)
        frames = np.array([_parse_int(k, "frame key", path) for k in frame_keys], dtype=np.int64)
        rows, scores = [], []
        for key in frame_keys:
            pose = person_frames[key]
            if not isinstance(pose, dict) or "keypoints" not in pose:
                raise ValueError(
                    f"{path}: person {person_key} frame {key}: expected an object with "
                    f"'keypoints', got {pose!r:.80}"
                )
            rows.append(pose["keypoints"])
            score = pose.get("scores")
            if score is None:
                scores.append(np.nan)
            elif (
                isinstance(score, (int, float))
                and not isinstance(score, bool)
                and (isinstance(score, float) or abs(score) <= _MAX_VALUE)
                and not math.isinf(score)
            ):
                scores.append(float(score))  # a JSON NaN reads like null
            else:
                raise ValueError(
                    f"{path}: person {person_key} frame {key}: 'scores' must be a number "
                    f"(finite) or null, got {score!r:.40}"
                )
        # numpy reads JSON true/false as 1/0; look for them only where the text has them
        kp = _keypoint_array(rows, frame_keys, person_key, path, check_bools=has_bools)
        nan = np.isnan(kp[:, :, 2])
        if nan.any():
            if nan_confidence == "raise":
                i = int(np.argwhere(nan)[0, 0])
                raise ValueError(
                    f"{path}: person {person_key} frame {frame_keys[i]}: NaN joint confidence "
                    "(pass nan_confidence='zero' to read it as 0)"
                )
            n_nan += int(nan.sum())
            kp[:, :, 2][nan] = 0.0
        order = np.argsort(frames, kind="stable")
        frames = frames[order]
        dup = np.flatnonzero(np.diff(frames) == 0)
        if dup.size:
            raise ValueError(
                f"{path}: person {person_key} has frame {frames[dup[0]]} twice "
                "(frame keys that differ only in zero padding)"
            )
        kp = kp[order]
        if graph.name == "openpose18":
            kp = coco17_to_openpose18(kp)
        tracks.append(
            Track(
                person=person,
                frames=frames,
                keypoints=kp.astype(np.float32),
                scores=np.asarray(scores, dtype=np.float32)[order],
            )
        )
    persons = [t.person for t in tracks]
    if len(set(persons)) != len(persons):
        raise ValueError(f"{path}: a person id occurs twice (keys that differ in zero padding)")
    tracks.sort(key=lambda t: t.person)
    return Clip(
        clip_id=clip_id if clip_id is not None else clip_id_from_path(path),
        tracks=tracks,
        path=path,
        n_nan_confidence=n_nan,
    )
