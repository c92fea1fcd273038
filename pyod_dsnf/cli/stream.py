"""The ``pyod-dsnf stream`` and ``pyod-dsnf replay`` subcommands.

``pyod_dsnf.cli`` registers them with :func:`add_parsers` and dispatches through
:data:`COMMANDS`::

    pyod-dsnf replay POSE_DIR | pyod-dsnf stream MODEL

See ``docs/streaming.md``.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

__all__ = ["COMMANDS", "MAX_LATENCY_MS", "MAX_LINES", "add_parsers", "line_batches"]

#: Default ``--max-latency``: lines arriving within this many ms of a batch's first line
#: are scored with it. Below a 30 fps frame interval plus the time to score a batch, so
#: a frame's score leaves within about a frame and a half of its arrival.
MAX_LATENCY_MS = 20
#: Default ``--batch``: most lines per batch (bounds the memory of one pass; at 15 cameras
#: a 20 ms batch holds about 10 lines, a replay read as fast as possible this many).
MAX_LINES = 256


def add_parsers(sub: Any) -> None:
    """Add the ``stream`` and ``replay`` subparsers to ``sub`` (from ``add_subparsers``)."""
    p = sub.add_parser(
        "stream",
        help="live per-person scores and alerts from JSON-lines poses (stdin or a file)",
        description="Read one frame per line, {\"camera\": ..., \"frame\": ..., \"people\": "
        "{id: [x, y, c, ...]}}, and write one JSON line per scored person-frame. Bad lines "
        "are reported on stderr with their line number and skipped (or fatal with --strict).",
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'pyod-dsnf fit'")
    p.add_argument("input", metavar="INPUT", nargs="?", default="-",
                   help="JSON-lines file (default: stdin)")  # fmt: skip
    p.add_argument("-o", "--output", default=None, help="write scores here (default: stdout)")
    p.add_argument("--threshold", default="contamination",
                   help="alert threshold: a number or 'contamination' (the model's threshold_; "
                   "default)")  # fmt: skip
    p.add_argument("--budget", type=float, default=None, metavar="ALERTS_PER_HOUR",
                   help="set the threshold from a false-alarm budget on --normal footage")
    p.add_argument("--normal", default=None, metavar="POSE_DIR",
                   help="folder of tracked-person JSON files of normal activity (for --budget)")
    p.add_argument("--fps", type=float, default=30.0, help="camera frame rate for --budget")
    p.add_argument("--min-gap", type=int, default=30,
                   help="frames after an episode's last high score before a new alert (30)")
    p.add_argument("--hysteresis", type=float, default=0.0,
                   help="scores above threshold - hysteresis keep an episode going (0)")
    p.add_argument("--forget-after", type=int, default=60,
                   help="forget a person unseen for this many frames (60)")
    p.add_argument("--max-gap", type=int, default=2, help="fill gaps up to this many frames")
    p.add_argument("--stride", type=int, default=1, help="score every n-th window of a track")
    p.add_argument("--top-joints", type=int, default=3, help="joints reported per score (3)")
    p.add_argument("--alert-after", type=int, default=None,
                   help="windows with fewer real frames never alert (default: T // 2)")
    p.add_argument("--no-warm-up", action="store_true",
                   help="score a track only once T frames are in (default: from its first "
                   "frame, the window's missing start padded with the first pose)")
    p.add_argument("--max-latency", type=float, default=MAX_LATENCY_MS, metavar="MS",
                   help="score together the lines that arrive within this many milliseconds "
                   f"of a batch's first line ({MAX_LATENCY_MS:g}; 0: only lines already "
                   "waiting)")  # fmt: skip
    p.add_argument("--batch", type=int, default=MAX_LINES,
                   help=f"at most this many lines per batch (default {MAX_LINES}; 1: one line "
                   "at a time)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=None,
                   help="threads scoring a batch (default: one per core, see n_jobs)")
    p.add_argument("--device", default="cpu", help="'cpu' (default), 'cuda', 'auto', ...")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")

    p = sub.add_parser(
        "replay",
        help="turn a folder of tracked-person JSON files into a JSON-lines pose stream",
    )
    p.add_argument("pose_dir", metavar="POSE_DIR")
    p.add_argument("-o", "--output", default=None, help="write lines here (default: stdout)")
    p.add_argument("--camera", default="clip", choices=("clip", "prefix"),
                   help="camera of a clip: its id (default) or the id's part before '_'")
    p.add_argument("--clip-gap", type=int, default=1000,
                   help="--camera prefix: frames between clips of one camera (1000)")
    p.add_argument("--layout", default="coco17", choices=("coco17", "openpose18"))
    p.add_argument("--fps", type=float, default=0.0,
                   help="pace the lines at this many frames per second (0: no pacing)")


def _load_dir(pose_dir: str, layout: str) -> list:
    import warnings

    from pyod_dsnf.poses import load_tracks

    d = Path(pose_dir)
    if not d.is_dir():
        raise ValueError(f"pose_dir={pose_dir!r} is not a folder")
    files = sorted(d.glob("*.json"))
    if not files:
        raise ValueError(f"pose_dir={pose_dir!r} holds no *.json tracked-person files")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*NaN joint confidences set to 0")
        return [load_tracks(f, layout=layout) for f in files]


def _open_out(stack: ExitStack, path: str | None) -> IO[str]:
    if path is None:
        return sys.stdout
    return stack.enter_context(open(path, "w", encoding="utf-8"))


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. captured)
        pass


def _scorer(a: argparse.Namespace) -> Any:
    from pyod_dsnf.detector.estimator import DSNFDetector
    from pyod_dsnf.stream import StreamScorer, budget_threshold, causal_tracks

    model = Path(a.model)
    if not model.is_file():
        raise ValueError(f"model={a.model!r} is not a file")
    det = DSNFDetector.load(model, device=a.device)
    det.n_threads = a.threads
    det.n_jobs = a.jobs
    threshold: Any = a.threshold
    if a.budget is not None:
        if a.normal is None:
            raise ValueError("--budget needs --normal POSE_DIR (footage of normal activity)")
        layout = det.layout if isinstance(det.layout, str) else "coco17"
        after = det.input_shape_[0] // 2 if a.alert_after is None else a.alert_after
        tracks, n_frames = causal_tracks(
            det, _load_dir(a.normal, layout), max_gap=a.max_gap, stride=a.stride,
            warm_up=not a.no_warm_up, alert_after=after)  # fmt: skip
        threshold = budget_threshold(
            tracks, n_frames, alerts_per_hour=a.budget, fps=a.fps, min_gap=a.min_gap,
            hysteresis=a.hysteresis)  # fmt: skip
        print(
            f"pyod-dsnf stream: threshold {threshold.threshold:.6g} from {a.budget} alert(s) "
            f"per camera-hour at {a.fps} fps: {threshold.n_alerts} alert(s) in "
            f"{threshold.hours:.3g} camera-hours of normal footage",
            file=sys.stderr,
        )
    elif threshold != "contamination":
        try:
            threshold = float(threshold)
        except ValueError:
            raise ValueError(
                f"--threshold must be a number or 'contamination', got {a.threshold!r}"
            ) from None
    return StreamScorer(
        det, threshold=threshold, min_gap=a.min_gap, hysteresis=a.hysteresis,
        max_gap=a.max_gap, forget_after=a.forget_after, stride=a.stride,
        top_joints=a.top_joints, warm_up=not a.no_warm_up, alert_after=a.alert_after)  # fmt: skip


def line_batches(
    src: Iterable[str], max_latency: float, max_lines: int
) -> Iterator[list[tuple[int, str]]]:
    """Numbered lines of ``src`` in batches: those that arrive within ``max_latency`` seconds.

    A batch starts with the next line to arrive (waiting as long as it takes) and takes
    every line that arrives until ``max_latency`` seconds later or until it holds
    ``max_lines``. A thread reads ``src`` ahead (at most ``4 * max_lines`` lines), so
    a live source is timed by arrival and a file is read while the previous batch is
    scored. An error reading ``src`` is raised here.
    """
    lines: queue.Queue = queue.Queue(maxsize=4 * max_lines)
    end = object()
    stop = threading.Event()

    def read() -> None:
        try:
            for item in enumerate(src, 1):
                while not stop.is_set():
                    try:
                        lines.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            lines.put(end)
        except BaseException as exc:  # handed to the consumer, raised there
            lines.put(exc)

    reader = threading.Thread(target=read, name="pyod-dsnf-stream-reader", daemon=True)
    reader.start()
    try:
        done = False
        while not done:
            item = lines.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            batch = [item]
            deadline = time.monotonic() + max_latency
            while len(batch) < max_lines:
                wait = deadline - time.monotonic()
                try:
                    item = lines.get(timeout=wait) if wait > 0 else lines.get_nowait()
                except queue.Empty:
                    break
                if item is end or isinstance(item, BaseException):
                    if isinstance(item, BaseException):
                        yield batch
                        raise item
                    done = True
                    break
                batch.append(item)
            yield batch
    finally:
        stop.set()


def _stream(a: argparse.Namespace) -> None:
    from pyod_dsnf.stream.jsonl import format_record, parse_line

    if a.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {a.batch}")
    if not a.max_latency >= 0:
        raise ValueError(f"--max-latency must be >= 0 milliseconds, got {a.max_latency}")
    max_lines = a.batch
    scorer = _scorer(a)
    n_bad = 0
    with ExitStack() as stack:
        src = sys.stdin if a.input == "-" else stack.enter_context(
            open(a.input, encoding="utf-8"))  # fmt: skip
        out = _open_out(stack, a.output)

        def bad(lineno: int, exc: BaseException) -> None:
            nonlocal n_bad
            msg = " ".join(str(exc).split())
            if a.strict:
                raise ValueError(f"line {lineno}: {msg}") from None
            n_bad += 1
            print(f"pyod-dsnf stream: line {lineno}: {msg}", file=sys.stderr, flush=True)

        def write(records: list) -> None:
            for r in records:
                out.write(format_record(r) + "\n")
            out.flush()

        def run(group: list[tuple[int, tuple]]) -> None:
            if len(group) > 1:
                try:
                    write(scorer.update_many([g for _, g in group]))
                    return
                except (TypeError, ValueError):
                    pass  # nothing applied: find the bad line(s) one by one
                except FloatingPointError as exc:  # the model gave NaN: the batch is lost
                    for lineno, _ in group:
                        bad(lineno, exc)
                    return
            for lineno, g in group:
                try:
                    write(scorer.update(*g))
                except (TypeError, ValueError, FloatingPointError) as exc:
                    bad(lineno, exc)

        n_lines = 0
        try:
            for batch in line_batches(src, a.max_latency / 1000.0, max_lines):
                group: list[tuple[int, tuple]] = []
                for lineno, text in batch:
                    n_lines = lineno
                    if not text.strip():
                        continue
                    try:
                        group.append((lineno, parse_line(text)))
                    except ValueError as exc:
                        if a.strict and group:  # what came before is written first
                            run(group)
                            group = []
                        bad(lineno, exc)
                if group:
                    run(group)
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            _silence_stdout()
            return
    s = scorer.stats
    print(
        f"pyod-dsnf stream: {n_lines} lines ({n_bad} bad), {s['n_poses']} poses, "
        f"{s['n_scored']} scores, {s['n_alerts']} alerts",
        file=sys.stderr,
    )


def _replay(a: argparse.Namespace) -> None:
    import json

    from pyod_dsnf.stream.jsonl import replay_frames

    if a.fps < 0:
        raise ValueError(f"--fps must be >= 0, got {a.fps}")
    clips = _load_dir(a.pose_dir, a.layout)
    with ExitStack() as stack:
        out = _open_out(stack, a.output)
        t0 = time.perf_counter()
        first = None
        for d in replay_frames(clips, camera=a.camera, clip_gap=a.clip_gap):
            if a.fps:
                first = d["frame"] if first is None else first
                wait = t0 + (d["frame"] - first) / a.fps - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            try:
                out.write(json.dumps(d, allow_nan=False) + "\n")
                if a.fps:
                    out.flush()
            except BrokenPipeError:
                _silence_stdout()
                return


#: Subcommand name -> the function that runs it on the parsed arguments.
COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "stream": _stream,
    "replay": _replay,
}
