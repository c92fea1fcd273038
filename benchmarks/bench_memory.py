"""Peak memory (RSS) of scoring long inputs with DSNFDetector; prints a table.

The input is what a long recording gives: pose tracks (people x frames x 17 x 3,
float32). Segments are zero-copy sliding windows over the tracks
(``numpy.lib.stride_tricks.sliding_window_view``), so the 24x larger window
array is never materialised; ``decision_function`` validates, prepares and
scores ``max(batch_size, SCORE_CHUNK)`` windows at a time. Each row runs in a
fresh process and reports that process's peak RSS (``ru_maxrss``).

    python benchmarks/bench_memory.py                  # the table in docs/guarantees.md
    python benchmarks/bench_memory.py --people 20 --minutes 60 --mode score  # 1 h x 20 people

``--mode load --people 1 --frames N`` times :func:`load_tracks` on a file of N
frames ("tracks MB" is then the JSON file size). ``--mode score`` runs the whole
decision_function (flow included) with a small model; ``--mode prepare`` runs only
its validation + preparation chunk loop (no flow), which lets the 10^6-segment and
1-hour rows finish in minutes on a CPU; ``--no-chunk`` scores in one pass (the
behaviour before chunking) for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
T = 24  # segment length (frames)
FPS = 30


def make_tracks(n_people: int, n_frames: int, seed: int = 0) -> np.ndarray:
    """(people, frames, 17, 3) float32 walking skeletons in pixels (x, y, confidence)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 30.0, size=(n_people, 1, 17, 2)).astype(np.float32)
    out = np.empty((n_people, n_frames, 17, 3), dtype=np.float32)
    t = np.arange(n_frames, dtype=np.float32)
    for p in range(n_people):
        swing = np.sin(0.4 * t + rng.uniform(0, 6.3))[:, None] * rng.uniform(5, 10, size=17)
        out[p, :, :, 0] = base[p, 0, :, 0] + 200 + 0.5 * t[:, None] + swing
        out[p, :, :, 1] = base[p, 0, :, 1] + 300 + 0.3 * swing
        out[p, :, :, 2] = 0.9
    return out


def windows(track: np.ndarray) -> np.ndarray:
    """(frames - T + 1, T, 17, 3) view of one track; no copy."""
    view = np.lib.stride_tricks.sliding_window_view(track, T, axis=0)  # (n, 17, 3, T)
    return np.moveaxis(view, -1, 1)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_one(n_people: int, n_frames: int, mode: str, chunked: bool) -> dict:
    """One measurement (in this process)."""
    import torch

    import pyod_dsnf.detector.scoring as est
    from pyod_dsnf import DSNFDetector
    from pyod_dsnf.detector._batching import scoring_batch_floor
    from pyod_dsnf.detector._validation import check_segments, prepare_segments

    torch.set_num_threads(2)
    train = np.concatenate([windows(t)[::4] for t in make_tracks(4, 200, seed=1)])
    det = DSNFDetector(
        n_flow_steps=1, hidden_channels=4, epochs=1, random_state=0, batch_size=256
    ).fit(np.ascontiguousarray(train))
    tracks = make_tracks(n_people, n_frames)
    rss_before = peak_rss_mb()
    if not chunked:
        est.SCORE_CHUNK = 1 << 40
    t0 = time.perf_counter()
    n_segments, checksum = 0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for track in tracks:
            view = windows(track)
            if mode == "score":
                scores = det.decision_function(view if chunked else np.ascontiguousarray(view))
                checksum += float(scores.sum())
            else:  # validation + preparation chunk loop only, as decision_function runs it
                floor = scoring_batch_floor(det.batch_size)
                chunk = len(view) if not chunked else max(floor, est.SCORE_CHUNK)
                for start in range(0, len(view), chunk):
                    X4 = check_segments(view[start : start + chunk], det.graph_, flat_channels=2,
                                        input_shape=det.input_shape_)  # fmt: skip
                    part = prepare_segments(X4, normalize=det.normalize, offset=start)
                    checksum += float(part[:, :, 0, 0].sum())
            n_segments += len(view)
    wall = time.perf_counter() - t0
    return {
        "mode": mode + ("" if chunked else " (no chunks)"),
        "people": n_people,
        "frames": n_frames,
        "segments": n_segments,
        "tracks_mb": tracks.nbytes / 2**20,
        "windows_if_copied_mb": n_segments * T * 17 * 3 * 4 / 2**20,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "wall_s": wall,
        "finite": bool(np.isfinite(checksum)),
    }


def run_load(n_frames: int) -> dict:
    """Write one track of ``n_frames`` frames as tracked-person JSON and time load_tracks."""
    import tempfile

    from pyod_dsnf.poses import load_tracks

    row = json.dumps([round(float(v), 2) for v in make_tracks(1, 1)[0, 0].reshape(-1)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "00_0000_alphapose_tracked_person.json"
        with open(path, "w") as fh:
            fh.write('{"1": {')
            poses = (f'"{i}": {{"keypoints": {row}, "scores": 0.9}}' for i in range(n_frames))
            fh.write(",".join(poses))
            fh.write("}}")
        size = path.stat().st_size
        rss_before = peak_rss_mb()
        t0 = time.perf_counter()
        clip = load_tracks(path)
        wall = time.perf_counter() - t0
    assert len(clip.tracks[0]) == n_frames
    return {"mode": "load_tracks", "people": 1, "frames": n_frames, "segments": 0,
            "tracks_mb": size / 2**20, "windows_if_copied_mb": 0.0, "rss_before_mb": rss_before,
            "peak_rss_mb": peak_rss_mb(), "wall_s": wall, "finite": True}  # fmt: skip


def in_subprocess(n_people: int, n_frames: int, mode: str, chunked: bool) -> dict:
    cmd = [sys.executable, __file__, "--one", "--people", str(n_people), "--frames",
           str(n_frames), "--mode", mode] + ([] if chunked else ["--no-chunk"])  # fmt: skip
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict]) -> None:
    head = ("mode", "people", "frames", "segments", "tracks MB", "windows if copied MB",
            "RSS before MB", "peak RSS MB", "wall s", "segments/s")  # fmt: skip
    print(" | ".join(head))
    for r in rows:
        print(" | ".join([
            r["mode"], str(r["people"]), str(r["frames"]), f"{r['segments']:,}",
            f"{r['tracks_mb']:.0f}", f"{r['windows_if_copied_mb']:,.0f}",
            f"{r['rss_before_mb']:.0f}", f"{r['peak_rss_mb']:.0f}", f"{r['wall_s']:.1f}",
            f"{r['segments'] / r['wall_s']:,.0f}",
        ]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", action="store_true", help="one measurement, JSON on stdout")
    parser.add_argument("--people", type=int)
    parser.add_argument("--frames", type=int)
    parser.add_argument("--minutes", type=float, help="frames = minutes * 60 * 30 fps")
    parser.add_argument("--mode", choices=("score", "prepare", "load"), default="score")
    parser.add_argument("--no-chunk", action="store_true")
    args = parser.parse_args()
    if args.minutes is not None:
        args.frames = int(args.minutes * 60 * FPS)
    if args.one and args.mode == "load":
        print(json.dumps(run_load(args.frames)))
        return
    if args.one:
        print(json.dumps(run_one(args.people, args.frames, args.mode, not args.no_chunk)))
        return
    if args.people is not None:
        configs = [(args.people, args.frames, args.mode, not args.no_chunk)]
    else:
        configs = [
            (1, 10_000 + T - 1, "score", True),
            (1, 10_000 + T - 1, "score", False),
            (10, 10_000 + T - 1, "prepare", True),
            (10, 10_000 + T - 1, "prepare", False),
            (10, 100_000 + T - 1, "prepare", True),
            (20, 60 * 60 * FPS, "prepare", True),
        ]
    print_table([in_subprocess(*c) for c in configs])


if __name__ == "__main__":
    main()
