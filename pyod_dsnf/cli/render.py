"""The ``pyod-dsnf render`` subcommand: argument parsing and the handler.

``cli.py`` registers it with :func:`add_render_parser` and calls
:func:`run_render`; the work is :func:`pyod_dsnf.evaluation.render.render_alert`.
"""

from __future__ import annotations

import argparse

from pyod_dsnf.cli.stream import add_format_option

__all__ = ["add_render_parser", "run_render"]


def add_render_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``render MODEL POSE_FILE --person ID [--frames A:B] -o OUT`` to ``subparsers``."""
    p = subparsers.add_parser(
        "render",
        help="animation of one person's skeleton, joints coloured by anomaly, with its scores",
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'pyod-dsnf fit'")
    p.add_argument(
        "pose_file",
        metavar="POSE_FILE",
        help="tracked-person JSON, alphapose-results.json, OpenPose folder or MMPose file; "
        "with --alert also a folder of such clips (the alert names the clip)",
    )
    p.add_argument("--person", type=int, default=None, metavar="ID",
                   help="person id (or --alert)")  # fmt: skip
    p.add_argument(
        "--frames",
        default=None,
        metavar="A:B",
        help="frames A to B-1 (default: 2T frames around the alert's frame, or around the "
        "person's highest score)",
    )
    p.add_argument(
        "--alert",
        default=None,
        metavar="JSON_LINE",
        help="an output line of 'pyod-dsnf stream' (in quotes): picks the clip, the person and "
        "the frames around the alert",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="threshold drawn, e.g. the one the stream printed (default: the model's "
        "contamination threshold)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="ALERTS_PER_HOUR",
        help="threshold of this false-alarm budget from the model's held-out windows, as "
        "'pyod-dsnf stream --budget' without --normal",
    )
    p.add_argument("--video", default=None, metavar="FILE",
                   help="the camera's video: draw the skeleton over its frames (imageio-ffmpeg, "
                   "the render extra)")  # fmt: skip
    p.add_argument("--camera-fps", type=float, default=30.0,
                   help="camera frame rate for --budget (as stream's --fps; 30)")  # fmt: skip
    p.add_argument("-o", "--output", required=True, help="alert.gif or alert.mp4")
    add_format_option(p, "POSE_FILE")
    p.add_argument("--fps", type=float, default=10.0, help="animation frames per second (10)")
    p.add_argument("--max-gap", type=int, default=2, help="fill gaps up to this many frames (2)")
    p.add_argument("--still", default=None, metavar="PNG", help="also save the peak frame")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default: %(default)s; None keeps torch's setting)",
    )
    return p


def parse_alert(text: str) -> tuple[str, int, int]:
    """(clip id, person id, frame in the clip) of an output line of ``pyod-dsnf stream``.

    The line's ``clip`` and ``clip_frame`` are used where present (streams of
    ``pyod-dsnf replay``); otherwise the camera is the clip and ``frame`` its
    frame. A person ``"<clip>/<id>"`` (``replay --camera prefix``) gives both.

    Raises
    ------
    ValueError
        When the text is not such a line.
    """
    import json

    try:
        rec = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"alert must be one JSON line of 'pyod-dsnf stream', got {text!r:.80}"
                         f" ({exc})") from None  # fmt: skip
    if not isinstance(rec, dict) or not {"camera", "frame", "person"} <= set(rec):
        raise ValueError(f"alert must be a JSON object with camera, frame and person, got "
                         f"{text!r:.80}")  # fmt: skip
    person = str(rec["person"])
    clip = str(rec.get("clip", rec["camera"]))
    if "/" in person:
        clip, person = person.rsplit("/", 1)
    frame = rec.get("clip_frame", rec["frame"])
    try:
        return clip, int(person), int(frame)
    except (TypeError, ValueError):
        raise ValueError(f"alert: person {rec['person']!r} and frame {frame!r} must be "
                         "integers (or '<clip>/<id>' for the person)") from None  # fmt: skip


def _load_clip(path: str, fmt: str, layout: str, clip_id: str | None) -> object:
    from pathlib import Path

    from pyod_dsnf.poses.formats import load_poses
    from pyod_dsnf.poses.sources import find_sources, get_format

    p = Path(path)
    if clip_id is not None and p.is_dir():
        pose_format = get_format(fmt)
        try:
            sources = find_sources(p, fmt=fmt, name="POSE_FILE")
        except ValueError:
            sources = []
        hits = [s for s in sources if pose_format.clip_id(s) == clip_id]
        if hits:
            return pose_format.read(hits[0], layout=layout, nan_confidence="zero")
        if len(sources) > 1 or p.name != clip_id:
            raise ValueError(f"POSE_FILE={path!r} holds no clip {clip_id!r} (the alert's clip)")
    return load_poses(p, format=fmt, layout=layout)


def run_render(a: argparse.Namespace) -> None:
    """Handle ``pyod-dsnf render`` (errors propagate as ValueError / ImportError)."""
    from pyod_dsnf.detector.estimator import DSNFDetector
    from pyod_dsnf.evaluation.render import _graph_of, parse_frames, render_alert

    frames = parse_frames(a.frames) if a.frames is not None else None
    clip_id, person = None, a.person
    if a.alert is not None:
        clip_id, person, at = parse_alert(a.alert)
        if a.person is not None and a.person != person:
            raise ValueError(f"--person {a.person} differs from the alert's person {person}")
    if person is None:
        raise ValueError("give --person ID or --alert JSON_LINE")
    if a.threshold is not None and a.budget is not None:
        raise ValueError("give --threshold or --budget, not both")
    det = DSNFDetector.load(a.model)
    if a.alert is not None and frames is None:
        t = int(det.input_shape_[0])
        frames = (max(at - t, 0), at + t)
    threshold = a.threshold
    if a.budget is not None:
        from pyod_dsnf.stream.calibration import model_budget

        budget = model_budget(det, alerts_per_hour=a.budget, fps=a.camera_fps)
        threshold = budget.threshold
        print(budget.describe())
    layout = _graph_of(det).name
    clip = _load_clip(a.pose_file, a.fmt, layout, clip_id)
    if a.alert is not None and frames is not None:
        frames = _clamp(clip, person, frames, at, a.max_gap)
    out = render_alert(
        det,
        clip,
        person,
        frames,
        a.output,
        fps=a.fps,
        max_gap=a.max_gap,
        still=a.still,
        threshold=threshold,
        video=a.video,
    )
    print(f"wrote {out}" + (f" and {a.still}" if a.still else ""))


def _clamp(clip, person: int, frames: tuple[int, int], at: int, max_gap: int) -> tuple[int, int]:
    """The alert's frame range cut to the posed piece of the person's track holding its frame."""
    from pyod_dsnf.poses import Clip, fill_gaps

    a, b = frames
    tracks = [t for t in clip.tracks if t.person == person and len(t)]
    if not tracks:
        return frames  # alert_data names the ids
    filled, _ = fill_gaps(Clip(clip.clip_id, tracks, clip.path), max_gap=max_gap)
    for piece in filled.tracks:
        lo, hi = int(piece.frames[0]), int(piece.frames[-1])
        if lo <= at <= hi:
            return max(a, lo), min(b, hi + 1)
    return frames
