"""The ``pyod-dsnf render`` subcommand: argument parsing and the handler.

``cli.py`` registers it with :func:`add_render_parser` and calls
:func:`run_render`; the work is :func:`pyod_dsnf.evaluation.render.render_alert`.
"""

from __future__ import annotations

import argparse

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
        help="tracked-person JSON, alphapose-results.json, OpenPose folder or MMPose file",
    )
    p.add_argument("--person", type=int, required=True, metavar="ID", help="person id")
    p.add_argument(
        "--frames",
        default=None,
        metavar="A:B",
        help="frames A to B-1 (default: 2T frames around the person's highest score)",
    )
    p.add_argument("-o", "--output", required=True, help="alert.gif or alert.mp4")
    p.add_argument(
        "--format",
        default="auto",
        choices=("auto", "tracked", "alphapose", "openpose", "mmpose"),
        help="pose file format (default: auto)",
    )
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


def run_render(a: argparse.Namespace) -> None:
    """Handle ``pyod-dsnf render`` (errors propagate as ValueError / ImportError)."""
    from pyod_dsnf.detector.estimator import DSNFDetector
    from pyod_dsnf.evaluation.render import _graph_of, parse_frames, render_alert
    from pyod_dsnf.poses.formats import load_poses

    frames = parse_frames(a.frames) if a.frames is not None else None
    det = DSNFDetector.load(a.model)
    layout = _graph_of(det).name
    clip = load_poses(a.pose_file, format=a.format, layout=layout)
    out = render_alert(
        det,
        clip,
        a.person,
        frames,
        a.output,
        fps=a.fps,
        max_gap=a.max_gap,
        still=a.still,
    )
    print(f"wrote {out}" + (f" and {a.still}" if a.still else ""))
