"""Throughput, latency and memory of live scoring (StreamScorer) on synthetic streams.

Replays ``--cameras`` cameras with ``--people`` people each at ``--fps`` frames per
second for ``--minutes`` of stream time: every stream frame, the poses of all
cameras go to one ``StreamScorer.update_many`` call (one batch, one forward).
People leave after ``--lifetime`` seconds and new ids arrive, so the scorer also
forgets people all the time. Reports person-frames per second, the p50 / p99 /
max latency of one ``update_many`` (all cameras, one frame; the first T - 1 frames,
which only fill the buffers, are left out) and the process RSS
sampled every ``--rss-every`` seconds of stream time.

The target of issue 12: 15 cameras x 20 people at 30 fps (9,000 person-frames per
second) on 2 CPU cores with the default model, memory flat over one hour::

    python benchmarks/bench_stream.py --threads 2 --minutes 60
    python benchmarks/bench_stream.py --threads 1 --minutes 0.5      # a quick check
    python benchmarks/bench_stream.py --minutes 60 --no-model        # memory of the buffers only

``--no-model`` replaces the detector's forward by a stub returning zeros: it
measures the scorer's own cost and memory (buffers, gap filling, forgetting,
records), not the flow's. Without ``--model`` a detector with the default
architecture is fitted for one epoch on synthetic poses (scoring cost depends on
the architecture, not on how well it is trained).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.poses import fill_gaps, segment_tracks
from pyod_dsnf.stream import StreamScorer


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pose_bank(seg_len: int, random_state: int = 0) -> np.ndarray:
    """Consecutive poses of synthetic tracks, (n, 17, 3) float32, to replay from."""
    ds = make_pose_tracks(6, 0, n_frames=(200, 240), random_state=random_state)
    clips, _ = fill_gaps(ds.train, max_gap=10**6)
    return np.concatenate([t.keypoints for c in clips for t in c.tracks]).astype(np.float32)


def default_detector(seg_len: int, threads: int) -> DSNFDetector:
    ds = make_pose_tracks(8, 0, random_state=1)
    seg = segment_tracks(fill_gaps(ds.train)[0], seg_len=seg_len, stride=6)
    return DSNFDetector(epochs=1, random_state=0, device="cpu", n_threads=threads).fit(seg.X)


class _StubJoint:
    """Stands in for the flow: zeros of the right shape, no forward."""

    def __init__(self, det: DSNFDetector) -> None:
        self.det = det

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((len(X), self.det.input_shape_[1]))


def run(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    if args.model:
        det = DSNFDetector.load(args.model)
        det.n_threads = args.threads
    else:
        det = default_detector(args.seg_len, args.threads)
    det.n_jobs = args.jobs
    if args.no_model:
        det.joint_nll = _StubJoint(det)  # instance attribute: this object only
    scorer = StreamScorer(det, forget_after=args.forget_after, stride=args.stride)
    bank = pose_bank(det.input_shape_[0])
    rng = np.random.default_rng(0)
    n_frames = round(args.minutes * 60 * args.fps)
    life = max(1, round(args.lifetime * args.fps))
    cams = [f"cam{c:02d}" for c in range(args.cameras)]
    # person slot k of camera c: id = c, k, generation; offset into the bank; start frame
    start = rng.integers(-life, 0, size=(args.cameras, args.people))
    offset = rng.integers(0, len(bank), size=(args.cameras, args.people))
    gen = np.zeros((args.cameras, args.people), dtype=np.int64)
    shift = rng.normal(0, 200, size=(args.cameras, args.people, 1, 2)).astype(np.float32)
    warm_up = det.input_shape_[0] - 1
    if n_frames <= warm_up:
        raise SystemExit(f"--minutes gives {n_frames} frames; need more than {warm_up}")
    latencies = np.empty(n_frames)
    rss = [(0.0, rss_mib())]
    rss_every = max(1, round(args.rss_every * args.fps))
    n_person_frames = n_records = 0
    busy = cpu = 0.0
    t_start = time.perf_counter()
    for f in range(n_frames):
        renew = f - start >= life
        if renew.any():
            start[renew] = f
            gen[renew] += 1
            offset[renew] = rng.integers(0, len(bank), size=int(renew.sum()))
        poses = bank[(offset + f - start) % len(bank)].copy()  # (C, P, 17, 3)
        poses[..., :2] += shift
        batch = [
            (cam, f, {f"{k}.{gen[c, k]}": poses[c, k] for k in range(args.people)})
            for c, cam in enumerate(cams)
        ]
        t0, c0 = time.perf_counter(), time.process_time()
        records = scorer.update_many(batch)
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        latencies[f] = dt
        if f >= warm_up:  # the first T - 1 frames only fill the buffers
            busy += dt
            cpu += dc
            n_person_frames += args.cameras * args.people
            n_records += len(records)
        if (f + 1) % rss_every == 0:
            rss.append(((f + 1) / args.fps, rss_mib()))
        if args.progress and (f + 1) % (10 * rss_every) == 0:
            print(f"  {(f + 1) / args.fps:.0f} s of stream, {n_person_frames / busy:.0f} "
                  f"person-frames/s, RSS {rss[-1][1]:.1f} MiB", file=sys.stderr)  # fmt: skip
    wall = time.perf_counter() - t_start
    latencies = latencies[warm_up:]
    warm = rss[min(len(rss) - 1, 1)][1]
    return {
        "cameras": args.cameras,
        "people": args.people,
        "fps": args.fps,
        "stream_seconds": n_frames / args.fps,
        "threads": args.threads,
        "jobs": args.jobs,
        "model": args.model or ("stub (--no-model)" if args.no_model else "default, 1 epoch"),
        "input_shape": list(det.input_shape_),
        "stride": args.stride,
        "person_frames": n_person_frames,
        "records": n_records,
        "person_frames_per_s": n_person_frames / busy,
        "person_frames_per_cpu_s": n_person_frames / cpu,
        "realtime_factor": (n_frames / args.fps) / busy,
        "latency_p50_ms": 1e3 * float(np.percentile(latencies, 50)),
        "latency_p99_ms": 1e3 * float(np.percentile(latencies, 99)),
        "latency_max_ms": 1e3 * float(latencies.max()),
        "wall_s": wall,
        "rss_mib_first_sample": warm,
        "rss_mib_last": rss[-1][1],
        "rss_mib_max": max(r for _, r in rss),
        "rss_samples": rss,
        "tracked_at_end": scorer.n_tracked,
        "buffer_capacity": scorer.capacity,
        "stats": scorer.stats,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=15)
    p.add_argument("--people", type=int, default=20)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--minutes", type=float, default=60.0, help="stream time to simulate")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--jobs", type=int, default=None,
                   help="the detector's n_jobs (default None: one per core)")
    p.add_argument("--model", default=None, help="a saved model (default: fit one)")
    p.add_argument("--seg-len", type=int, default=24, help="T of the fitted default model")
    p.add_argument("--stride", type=int, default=1, help="StreamScorer stride")
    p.add_argument("--forget-after", type=int, default=60)
    p.add_argument("--lifetime", type=float, default=20.0, help="seconds a person stays")
    p.add_argument("--rss-every", type=float, default=60.0, help="RSS sample period (stream s)")
    p.add_argument("--no-model", action="store_true", help="stub the flow: scorer cost only")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    res = run(args)
    rows = [
        ("setting", f"{res['cameras']} cameras x {res['people']} people at {res['fps']:g} fps, "
                    f"{res['stream_seconds']:.0f} s of stream, T={res['input_shape'][0]}, "
                    f"stride {res['stride']}, {res['threads']} thread(s), n_jobs {res['jobs']}, "
                    f"model: {res['model']}"),
        ("person-frames/s", f"{res['person_frames_per_s']:.0f} (target {res['cameras'] * res['people'] * res['fps']:.0f}; "  # noqa: E501
                            f"real-time factor {res['realtime_factor']:.2f}); "
                            f"{res['person_frames_per_cpu_s']:.0f} per CPU-second (all threads); "
                            f"load {os.getloadavg()[0]:.2f}"),
        ("update_many latency p50 / p99 / max",
         f"{res['latency_p50_ms']:.1f} / {res['latency_p99_ms']:.1f} / "
         f"{res['latency_max_ms']:.1f} ms"),
        ("RSS first sample / last / max",
         f"{res['rss_mib_first_sample']:.1f} / {res['rss_mib_last']:.1f} / "
         f"{res['rss_mib_max']:.1f} MiB ({len(res['rss_samples'])} samples)"),
        ("people tracked at end / buffers", f"{res['tracked_at_end']} / {res['buffer_capacity']}"),
    ]  # fmt: skip
    for k, v in rows:
        print(f"| {k} | {v} |")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
