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

import numpy as np

__all__ = [
    "COMMANDS",
    "MAX_LATENCY_MS",
    "MAX_LINES",
    "add_format_option",
    "add_parsers",
    "line_batches",
]

#: Default ``--max-latency``: lines arriving within this many ms of a batch's first line
#: are scored with it. Below a 30 fps frame interval plus the time to score a batch, so
#: a frame's score leaves within about a frame and a half of its arrival.
MAX_LATENCY_MS = 20.0
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
                   help="set the threshold from a false-alarm budget: on the model's held-out "
                   "training windows, or on --normal footage")
    p.add_argument("--normal", default=None, metavar="POSE_DIR",
                   help="folder of pose files of normal activity held out of training: "
                   "--budget counts alerts on it instead of using the model's held-out windows")
    _add_format(p, "--normal")
    p.add_argument("--fps", type=float, default=30.0, help="camera frame rate for --budget")
    p.add_argument("--no-age-match", action="store_true",
                   help="raw scores for warm-up windows (default: matched to full windows by "
                   "the model's or --normal's quantiles by track age)")
    p.add_argument("--verbose", action="store_true",
                   help="report lines, scores, alerts, throughput and latency on stderr every "
                   "5 s (the same report ends every run)")
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
    p.add_argument("--batch", type=int, default=None,
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
    _add_format(p, "POSE_DIR")
    p.add_argument("--fps", type=float, default=0.0,
                   help="pace the lines at this many frames per second (0: no pacing)")


def add_format_option(p: Any, what: str = "POSE_DIR") -> None:
    """``--format`` (dest ``fmt``) with every pose format as a choice, default "auto".

    Shared by every subcommand that reads poses, so they speak one vocabulary.
    """
    from pyod_dsnf.poses import pose_formats

    choices = ("auto", *(f for f in pose_formats() if f != "auto"))
    p.add_argument("--format", dest="fmt", default="auto", choices=choices,
                   help=f"pose format of {what}: {', '.join(choices)} (default: auto, told "
                   "by each file's content; docs/data.md)")  # fmt: skip


_add_format = add_format_option


def _load_dir(pose_dir: str, layout: str, fmt: str = "auto") -> list:
    import warnings

    from pyod_dsnf.pipeline import load

    if not Path(pose_dir).exists():
        raise ValueError(f"pose_dir={pose_dir!r} does not exist")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*NaN joint confidences set to 0")
        return load(pose_dir, fmt=fmt, layout=layout)


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


def _say(text: str) -> None:
    print(f"pyod-dsnf stream: {text}", file=sys.stderr, flush=True)


def _progress(what: str) -> Callable[[int, int], None]:
    """A progress callback printing on stderr at most every 2 s, and when done."""
    t0 = time.perf_counter()
    last = [t0]

    def show(done: int, total: int) -> None:
        now = time.perf_counter()
        if done >= total or now - last[0] >= 2.0:
            last[0] = now
            _say(f"{what}: {done}/{total} windows scored ({now - t0:.1f} s)")

    return show


def _budget(a: argparse.Namespace, det: Any, after: int) -> tuple[Any, Any]:
    """(AlertBudget, age match) of --budget, from --normal footage or the model's calibration."""
    from pyod_dsnf.stream import budget_threshold
    from pyod_dsnf.stream.calibration import AgeMatch, age_table, match_ages, model_budget
    from pyod_dsnf.stream.offline import causal_scores, group_tracks

    t0 = time.perf_counter()
    if a.normal is None:
        budget = model_budget(det, alerts_per_hour=a.budget, fps=a.fps, min_gap=a.min_gap,
                              hysteresis=a.hysteresis)  # fmt: skip
        match = None if a.no_age_match else match_ages(det)
    else:
        layout = det.layout if isinstance(det.layout, str) else "coco17"
        clips = _load_dir(a.normal, layout, a.fmt)
        _say(f"calibrating on {len(clips)} clip(s) of {a.normal} ...")
        seg, scores = causal_scores(det, clips, max_gap=a.max_gap, stride=a.stride,
                                    warm_up=not a.no_warm_up,
                                    progress=_progress("calibrating"))  # fmt: skip
        match = None
        if not a.no_age_match and not a.no_warm_up and len(scores):
            table = age_table(scores, seg.length, int(det.input_shape_[0]))
            if np.isfinite(table[-1]).all():
                match = AgeMatch(table)
                scores = match(scores, seg.length)
        tracks = group_tracks(seg, scores, after)
        n_frames = int(sum(c.last_frame + 1 for c in clips))
        budget = budget_threshold(tracks, n_frames, alerts_per_hour=a.budget, fps=a.fps,
                                  min_gap=a.min_gap, hysteresis=a.hysteresis)  # fmt: skip
    _say(f"{budget.describe()}; calibrated in {time.perf_counter() - t0:.1f} s")
    return budget, match


def _scorer(a: argparse.Namespace) -> Any:
    from pyod_dsnf.detector.estimator import DSNFDetector
    from pyod_dsnf.stream import StreamScorer
    from pyod_dsnf.stream.calibration import match_ages

    model = Path(a.model)
    if not model.is_file():
        raise ValueError(f"model={a.model!r} is not a file")
    det = DSNFDetector.load(model, device=a.device)
    det.n_threads = a.threads
    det.n_jobs = a.jobs
    threshold: Any = a.threshold
    after = det.input_shape_[0] // 2 if a.alert_after is None else a.alert_after
    match = None
    if a.budget is not None:
        threshold, match = _budget(a, det, after)
    else:
        if a.normal is not None:
            raise ValueError("--normal is used by --budget only; add --budget ALERTS_PER_HOUR")
        if not a.no_age_match and not a.no_warm_up:
            match = match_ages(det)
        if threshold != "contamination":
            try:
                threshold = float(threshold)
            except ValueError:
                raise ValueError(
                    f"--threshold must be a number or 'contamination', got {a.threshold!r}"
                ) from None
    return StreamScorer(
        det, threshold=threshold, min_gap=a.min_gap, hysteresis=a.hysteresis,
        max_gap=a.max_gap, forget_after=a.forget_after, stride=a.stride,
        top_joints=a.top_joints, warm_up=not a.no_warm_up, alert_after=a.alert_after,
        age_match=match)  # fmt: skip


class _Report:
    """Counts of the run and the latency of each scoring call, for the stderr report."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.lines = self.bad = 0
        self.ticks: list[float] = []
        self.last_shown = self.t0

    def line(self, scorer: Any, final: bool = False) -> str:
        s = scorer.stats
        wall = time.perf_counter() - self.t0
        text = (f"{self.lines} lines ({self.bad} bad), {s['n_poses']} poses, "
                f"{s['n_scored']} scores, {s['n_alerts']} alerts in {wall:.1f} s: "
                f"{s['n_scored'] / wall if wall > 0 else 0:.0f} person-frames/s")  # fmt: skip
        if self.ticks:
            ms = np.percentile(np.asarray(self.ticks) * 1e3, [50, 99])
            text += (f", tick latency p50 {ms[0]:.1f} ms / p99 {ms[1]:.1f} ms / max "
                     f"{max(self.ticks) * 1e3:.1f} ms over {len(self.ticks)} ticks")  # fmt: skip
        return text if final else f"so far: {text}"


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

    if a.batch is not None and a.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {a.batch}")
    if not a.max_latency >= 0:
        raise ValueError(f"--max-latency must be >= 0 milliseconds, got {a.max_latency}")
    max_lines = MAX_LINES if a.batch is None else a.batch
    scorer = _scorer(a)
    rep = _Report()
    with ExitStack() as stack:
        src = sys.stdin if a.input == "-" else stack.enter_context(
            open(a.input, encoding="utf-8"))  # fmt: skip
        out = _open_out(stack, a.output)

        def bad(lineno: int, exc: BaseException) -> None:
            msg = " ".join(str(exc).split())
            if a.strict:
                raise ValueError(f"line {lineno}: {msg}") from None
            rep.bad += 1
            _say(f"line {lineno}: {msg}")

        origin: dict[str, tuple[int, str, int]] = {}  # camera -> (frame, clip, offset)

        def write(records: list) -> None:
            for r in records:
                o = origin.get(r.camera)
                extra = None if o is None else {"clip": o[1], "clip_frame": r.frame - o[2]}
                out.write(format_record(r, extra) + "\n")
            out.flush()

        def timed(call: Callable[..., list], *args: Any) -> list:
            t = time.perf_counter()
            records = call(*args)
            rep.ticks.append(time.perf_counter() - t)
            return records

        def run(group: list[tuple[int, tuple]]) -> None:
            if len(group) > 1:
                try:
                    records = timed(scorer.update_many, [g[:3] for _, g in group])
                    # a record's clip is that of the first line of its camera at or after
                    # its frame (a filled gap never spans two clips)
                    for r in records:
                        g = next(g for _, g in group if g[0] == r.camera and g[1] >= r.frame)
                        _note(g)
                        write([r])
                    return
                except (TypeError, ValueError):
                    pass  # nothing applied: find the bad line(s) one by one
                except FloatingPointError as exc:  # the model gave NaN: the batch is lost
                    for lineno, _ in group:
                        bad(lineno, exc)
                    return
            for lineno, g in group:
                try:
                    records = timed(scorer.update, *g[:3])
                except (TypeError, ValueError, FloatingPointError) as exc:
                    bad(lineno, exc)
                    continue
                _note(g)
                write(records)

        def _note(g: tuple) -> None:
            extra = g[3]
            if extra:
                origin[g[0]] = (g[1], extra["clip"], g[1] - extra["clip_frame"])
            else:
                origin.pop(g[0], None)

        try:
            for batch in line_batches(src, a.max_latency / 1000.0, max_lines):
                group: list[tuple[int, tuple]] = []
                for lineno, text in batch:
                    rep.lines = lineno
                    if not text.strip():
                        continue
                    extra: dict[str, Any] = {}
                    try:
                        group.append((lineno, (*parse_line(text, extra), extra)))
                    except ValueError as exc:
                        if a.strict and group:  # what came before is written first
                            run(group)
                            group = []
                        bad(lineno, exc)
                if group:
                    run(group)
                if a.verbose and time.perf_counter() - rep.last_shown >= 5.0:
                    rep.last_shown = time.perf_counter()
                    _say(rep.line(scorer))
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            _silence_stdout()
            return
        finally:
            _say(rep.line(scorer, final=True))


def _replay(a: argparse.Namespace) -> None:
    import json

    from pyod_dsnf.stream.jsonl import replay_frames

    if a.fps < 0:
        raise ValueError(f"--fps must be >= 0, got {a.fps}")
    clips = _load_dir(a.pose_dir, a.layout, a.fmt)
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
