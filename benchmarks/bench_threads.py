"""Training and scoring throughput at 1 and 2 torch threads, idle and beside a competing job.

On a shared machine a torch job with as many threads as cores can slow down by far more
than its share when another multi-threaded job runs beside it: every parallel region
waits for its slowest thread, and with many small operations per batch a descheduled
thread stalls each of them. This script measures what a user gets through the public
estimator, for whatever flow the installed ``pyod_dsnf`` builds at its defaults:

* **fit**: ``DSNFDetector(epochs=1, validation_fraction=0, augment=False).fit(X)``
  segments per second (one epoch of training plus the pass over the training segments
  that ``fit`` makes for the joint score's statistics);
* **score**: ``decision_function(X)`` segments per second (validation, normalisation and
  the joint score included).

Each measurement runs in its own Python process (a fresh thread pool) with a time limit;
one that runs out of time is reported as "< rate" (segments done at most / limit). In the
"busy" rows a competing process runs beside it: a torch job with ``--competitor-threads``
threads (default 2) multiplying 256 x 256 matrices in a loop, itself bounded in time and
terminated when the measurement ends.

Usage::

    python benchmarks/bench_threads.py                   # 1 and 2 threads, idle and busy
    python benchmarks/bench_threads.py --threads 1 2 --n-fit 512 --n-score 4096 --limit 120
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# the measurement, run in a child process: prints one JSON line
_CHILD = r"""
import json, sys, time, warnings
import numpy as np
import torch
from pyod_dsnf import DSNFDetector

threads, n_fit, n_score, what = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
# random-walk poses: (n, T, 17, 2) pixels around a skeleton-sized blob
base = rng.normal(size=(1, 1, 17, 2)) * 40 + 500
walk = np.cumsum(rng.normal(size=(max(n_fit, n_score), 24, 17, 2)) * 2, axis=1)
X = (base + walk).astype(np.float32)
det = DSNFDetector(epochs=1, validation_fraction=0, augment=False, random_state=0,
                   n_threads=threads)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    det.fit(X[:n_fit])
fit_s = time.perf_counter() - start
out = {"fit": n_fit / fit_s}
print(json.dumps(out), flush=True)
if what == "both":
    det.decision_function(X[:64])  # warm-up
    start = time.perf_counter()
    det.decision_function(X[:n_score])
    out["score"] = n_score / (time.perf_counter() - start)
    print(json.dumps(out), flush=True)
"""

# the competing job: a bounded torch loop
_COMPETITOR = r"""
import sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
stop = time.monotonic() + float(sys.argv[2])
a = torch.randn(256, 256)
while time.monotonic() < stop:
    for _ in range(50):
        a = torch.tanh(a @ a * 0.01)
"""


def _measure(threads: int, n_fit: int, n_score: int, limit: float) -> dict[str, str]:
    """Run one child; rates as strings ('< x' when the limit was hit before it finished)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-c", _CHILD, str(threads), str(n_fit), str(n_score), "both"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode not in (0, -9) and not lines:
        raise RuntimeError(f"measurement failed (exit {proc.returncode}):\n{stderr[-2000:]}")
    got = json.loads(lines[-1]) if lines else {}
    cells = {}
    for key, n in (("fit", n_fit), ("score", n_score)):
        cells[key] = f"{got[key]:,.0f}" if key in got else f"< {n / elapsed:,.0f}"
    return cells


def _start_competitor(threads: int, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return subprocess.Popen(
        [sys.executable, "-c", _COMPETITOR, str(threads), str(seconds)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--n-fit", type=int, default=512, help="training segments (one epoch)")
    ap.add_argument("--n-score", type=int, default=4096, help="segments scored")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds per measurement")
    ap.add_argument("--competitor-threads", type=int, default=2)
    ap.add_argument("--conditions", nargs="+", default=["idle", "busy"], choices=["idle", "busy"])
    args = ap.parse_args(argv)
    for name in ("n_fit", "n_score"):
        if getattr(args, name) < 64:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 64, got {getattr(args, name)}")
    if args.limit <= 0:
        raise ValueError(f"--limit must be > 0, got {args.limit}")

    print(
        f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; fit {args.n_fit} "
        f"segments (1 epoch), score {args.n_score}; limit {args.limit:.0f} s per measurement"
    )
    print("| threads | machine | fit segments/s | score segments/s |")
    print("|---:|---|---:|---:|")
    for condition in args.conditions:
        for threads in args.threads:
            competitor = None
            if condition == "busy":
                competitor = _start_competitor(args.competitor_threads, args.limit + 30)
                time.sleep(1.0)  # let it start
            try:
                cells = _measure(threads, args.n_fit, args.n_score, args.limit)
            finally:
                if competitor is not None:
                    _stop(competitor)
            label = (
                "idle" if condition == "idle" else f"busy ({args.competitor_threads}-thread job)"
            )
            print(f"| {threads} | {label} | {cells['fit']} | {cells['score']} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
