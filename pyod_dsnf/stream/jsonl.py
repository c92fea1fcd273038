"""The JSON-lines stream format: one frame of one camera per line, one score per line.

Input line (``pyod-dsnf stream``)::

    {"camera": "cam1", "frame": 17, "people": {"3": [x, y, c, x, y, c, ...]}}

with V*3 (x, y, confidence) or V*2 (x, y) numbers per person. Output line::

    {"camera": "cam1", "frame": 17, "person": "3", "score": 1.7, "alert": false,
     "joints": [{"joint": "left_wrist", "z": 4.2}, ...], "filled": false}

:func:`replay_lines` turns recorded clips into input lines, cameras interleaved
by frame. See ``docs/streaming.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pyod_dsnf._checks import check_int, is_int
from pyod_dsnf._infinite import json_number
from pyod_dsnf.poses import Clip

__all__ = [
    "CAMERA_MODES",
    "camera_of",
    "format_record",
    "parse_line",
    "replay_frames",
    "replay_lines",
]

CAMERA_MODES = ("clip", "prefix")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list):
        return any(_has_bool(v) for v in value)
    return False


def parse_line(text: str, extra: dict[str, Any] | None = None) -> tuple[Any, Any, Any]:
    """Read one input line into ``(camera, frame, people)`` for ``StreamScorer.update``.

    Parameters
    ----------
    text : str
        One JSON object with keys ``camera``, ``frame`` and ``people`` (other
        keys are ignored).
    extra : dict, optional
        Receives the line's ``clip`` (a str) and ``clip_frame`` (an int) when it
        has both (lines of ``pyod-dsnf replay``).

    Returns
    -------
    camera, frame, people
        As in the line; the scorer checks their types and values.

    Raises
    ------
    ValueError
        When the line is not a JSON object with those keys, holds NaN or
        Infinity, or true/false among keypoints.
    """
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and NaN/Infinity
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in ("camera", "frame", "people") if k not in obj]
    if missing:
        raise ValueError(f"missing key(s) {missing}; expected camera, frame and people")
    people = obj["people"]
    if isinstance(people, dict):
        for pid, kp in people.items():
            if _has_bool(kp):
                raise ValueError(f"person {pid!r}: keypoints hold true/false, not numbers")
    if extra is not None:
        clip, at = obj.get("clip"), obj.get("clip_frame")
        if isinstance(clip, str) and is_int(at):
            extra["clip"], extra["clip_frame"] = clip, at
    return obj["camera"], obj["frame"], people


def format_record(record: Any, extra: dict[str, Any] | None = None) -> str:
    """One output line (no newline) for a :class:`~pyod_dsnf.stream.ScoreRecord`.

    An infinite score or z (a window far outside the training data) is written as
    ``+-JSON_INF``, the largest float, since JSON has no infinity
    (:func:`pyod_dsnf._infinite.json_number`); joint z values are rounded to 3 decimals.
    ``extra`` keys (e.g. ``clip`` and ``clip_frame``) are appended.
    """
    d = record.as_dict()
    if extra:
        d.update(extra)
    d["score"] = json_number(d["score"])
    for j in d["joints"]:
        j["z"] = round(json_number(j["z"]), 3)
    return json.dumps(d, allow_nan=False)


def camera_of(clip_id: str, mode: str = "clip") -> str:
    """The camera a clip is played on: the clip id, or its part before the first ``_``."""
    if mode not in CAMERA_MODES:
        raise ValueError(f"camera mode must be one of {CAMERA_MODES}, got {mode!r}")
    return clip_id.split("_", 1)[0] if mode == "prefix" else clip_id


def replay_lines(
    clips: Sequence[Clip], *, camera: str = "clip", clip_gap: int = 1000
) -> Iterator[str]:
    """:func:`replay_frames` as JSON lines (no newline)."""
    for d in replay_frames(clips, camera=camera, clip_gap=clip_gap):
        yield json.dumps(d, allow_nan=False)


def replay_frames(
    clips: Sequence[Clip], *, camera: str = "clip", clip_gap: int = 1000
) -> Iterator[dict[str, Any]]:
    """Input lines that replay recorded clips, cameras interleaved by frame.

    Parameters
    ----------
    clips : sequence of Clip
    camera : {"clip", "prefix"}, default="clip"
        ``"clip"``: each clip is its own camera, frames as in the file, person
        ids as in the file. ``"prefix"``: clips whose ids share the part before
        the first ``_`` (PoseLift's ``01_0222`` -> ``01``) play one after another
        on that camera, each starting ``clip_gap`` frames after the previous
        one's last frame, with person ids ``"<clip>/<id>"`` so that people of
        different clips never merge.
    clip_gap : int, default=1000
        ``"prefix"`` mode: frames between two clips of one camera.

    Yields
    ------
    dict
        One input frame (a JSON line once dumped) per camera and frame, from frame 0 (or the
        clip's offset) to the clip's last posed frame; frames without people
        carry ``"people": {}`` so that the camera's clock advances. Each line
        also names its ``clip`` and the frame in the clip (``clip_frame``).
    """
    check_int("clip_gap", clip_gap, 1)
    plays = []  # (camera, offset, clip)
    next_start: dict[str, int] = {}
    for clip in clips:
        cam = camera_of(clip.clip_id, camera)
        offset = next_start.get(cam, 0)
        plays.append((cam, offset, clip))
        next_start[cam] = offset + clip.last_frame + 1 + clip_gap
    events = []  # (global frame, play index, local frame)
    per_play: list[dict[int, dict[str, list[float]]]] = []
    for i, (_, offset, clip) in enumerate(plays):
        frames: dict[int, dict[str, list[float]]] = {}
        for t in clip.tracks:
            pid = f"{clip.clip_id}/{t.person}" if camera == "prefix" else str(t.person)
            flat = t.keypoints.reshape(len(t), -1).tolist()
            for f, kp in zip(t.frames.tolist(), flat, strict=True):
                frames.setdefault(f, {})[pid] = kp
        per_play.append(frames)
        events.extend((offset + f, i, f) for f in range(clip.last_frame + 1))
    events.sort()
    for frame, i, local in events:
        cam, _, clip = plays[i]
        people: Mapping[str, list[float]] = per_play[i].get(local, {})
        yield {"camera": cam, "frame": frame, "people": people, "clip": clip.clip_id,
               "clip_frame": local}  # fmt: skip
