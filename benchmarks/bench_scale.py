"""Scoring an archive of many clips with 1 and 2 worker processes (issue 11, part 2).

Builds an archive of synthetic tracked-person clips (copies of a pool of generated
clips under new names, so the archive can hold millions of segments without
generating them all), trains one model, then scores the archive with
``pyod_dsnf.pipeline.parallel.score_sources`` (what ``pyod-dsnf score --n-jobs N`` runs) at
every archive size and ``n_jobs``, each run in a fresh Python process. Reported per
run: the time to start the worker processes (apart), the wall time of the scoring,
segments per second, the speed-up over ``n_jobs=1``,
the peak RSS of each worker process (VmHWM) and of the parent (which keeps only the
scores and the segment index). Every worker scores with one torch thread.

Small check (minutes)::

    python benchmarks/bench_scale.py --segments 20000 40000

The full run (>= 10^6 segments; run it on an otherwise idle 2-core machine)::

    python benchmarks/bench_scale.py --segments 1000000 2000000 --out bench_scale.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEG_LEN = 24


def _vm_hwm_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _warm(_: int) -> int:
    """Start a worker: import torch and the package (timed apart from the scoring)."""
    import pyod_dsnf.detector.estimator  # imports torch
    import pyod_dsnf.pipeline.parallel  # noqa: F401

    time.sleep(0.2)
    return os.getpid()


def _worker_peak(_: int) -> tuple[int, float]:
    time.sleep(0.2)  # let every worker take some of these calls
    return os.getpid(), _vm_hwm_mib()


def build(root: Path, n_pool: int, seed: int) -> tuple[Path, int]:
    """A pool of synthetic clips and a model; returns the model path and segments per pool."""
    from pyod_dsnf import DSNFDetector
    from pyod_dsnf.datasets import make_pose_tracks, save_tracks
    from pyod_dsnf.pipeline import Windowing, cut

    ds = make_pose_tracks(8, n_pool, random_state=seed)
    pool = root / "pool"
    pool.mkdir(parents=True)
    for clip in ds.test:
        save_tracks(clip, pool / f"{clip.clip_id}_alphapose_tracked_person.json")
    train = cut(ds.train, Windowing.train(SEG_LEN, 6)).segments.X
    det = DSNFDetector(epochs=1, random_state=seed, n_threads=1).fit(train)
    det.save(root / "model.dsnf")
    n_pool_segments = len(cut(ds.test, Windowing.test("person", SEG_LEN)))
    return root / "model.dsnf", n_pool_segments


def archive(root: Path, n_copies: int) -> Path:
    """``n_copies`` copies of the pool under new clip names (hard links where possible)."""
    folder = root / f"archive_{n_copies}"
    if folder.is_dir():
        return folder
    folder.mkdir()
    pool = sorted((root / "pool").glob("*.json"))
    for k in range(n_copies):
        for f in pool:
            target = folder / f"cam{k:05d}_{f.name}"
            try:
                os.link(f, target)
            except OSError:
                shutil.copyfile(f, target)
    return folder


def child(model: str, folder: str, n_jobs: int) -> dict:
    """One scoring run (in a fresh process): wall time, segments, peak RSS."""
    import joblib

    from pyod_dsnf.pipeline import Windowing
    from pyod_dsnf.pipeline.parallel import score_sources

    t0 = time.perf_counter()
    if n_jobs != 1:
        joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_warm)(i) for i in range(4 * n_jobs))
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = score_sources(model, folder, Windowing.test("person", SEG_LEN), n_jobs=n_jobs, threads=1)
    wall = time.perf_counter() - t0
    if n_jobs == 1:
        workers = {os.getpid(): _vm_hwm_mib()}
    else:
        peaks = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_worker_peak)(i) for i in range(8 * n_jobs)
        )
        workers = dict(peaks)
    return {
        "n_jobs": n_jobs,
        "segments": len(res.scores),
        "clips": len(res.tracked),
        "wall_s": wall,
        "startup_s": startup,
        "worker_peak_mib": sorted(workers.values()),
        "parent_peak_mib": _vm_hwm_mib(),
        "checksum": float(np.sum(res.scores)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--segments",
        type=int,
        nargs="+",
        default=[20000, 40000],
        help="archive sizes in segments (at least; rounded up to whole pools)",
    )
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--pool", type=int, default=8, help="synthetic clips in the pool")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="keep the archive here (default: a temp dir)")
    ap.add_argument("--out", default=None, help="also write the table to this file")
    ap.add_argument("--child", nargs=3, metavar=("MODEL", "FOLDER", "N_JOBS"),
                    help=argparse.SUPPRESS)  # fmt: skip
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], int(a.child[2]))))
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    root = Path(a.workdir or tempfile.mkdtemp(prefix="bench_scale_"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, per_pool = build(root, a.pool, a.seed) if not (root / "model.dsnf").is_file() else (
        root / "model.dsnf", json.loads((root / "pool.json").read_text())["segments"])  # fmt: skip
    (root / "pool.json").write_text(json.dumps({"segments": per_pool}))
    print(f"pool: {a.pool} clips, {per_pool} segments (T={SEG_LEN}, person windows); "
          f"built in {time.perf_counter() - t0:.0f} s; cores: {os.cpu_count()}")  # fmt: skip
    rows = []
    for target in a.segments:
        folder = archive(root, -(-target // per_pool))
        base = None
        for n_jobs in a.jobs:
            cmd = [sys.executable, __file__, "--child", str(model), str(folder), str(n_jobs)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            base = r["wall_s"] if n_jobs == 1 else base
            r["speedup"] = base / r["wall_s"] if base else float("nan")
            rows.append(r)
            print(json.dumps(r), flush=True)
    lines = [
        "| segments | clips | n_jobs | worker start s | scoring s | segments/s | speed-up "
        "| peak RSS per worker MiB | parent peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['segments']:,} | {r['clips']:,} | {r['n_jobs']} | {r['startup_s']:.1f} "
            f"| {r['wall_s']:.1f} "
            f"| {r['segments'] / r['wall_s']:,.0f} | {r['speedup']:.2f} "
            f"| {', '.join(f'{m:.0f}' for m in r['worker_peak_mib'])} "
            f"| {r['parent_peak_mib']:.0f} |"
        )
    same = {}
    for r in rows:
        same.setdefault(r["segments"], set()).add(r["checksum"])
    lines.append("")
    lines.append("scores identical across n_jobs: " + ", ".join(
        f"{n:,} segments: {'yes' if len(c) == 1 else 'NO'}" for n, c in same.items()))  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if a.out:
        Path(a.out).write_text(table + "\n", encoding="utf-8")
    if a.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
