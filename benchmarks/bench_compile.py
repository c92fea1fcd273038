"""First-call cost and throughput of ``DSNFDetector(compile=True)`` against eager scoring.

Fits the default model for one epoch on synthetic raw pixel segments, then times
``decision_function`` (one thread, ``n_jobs=1``) eagerly and compiled: the first
compiled call (tracing, and with an empty cache building the kernels), the later
calls, and the largest score difference. Run it twice with the same
``TORCHINDUCTOR_CACHE_DIR`` to see the cost with a warm disk cache::

    TORCHINDUCTOR_CACHE_DIR=$(mktemp -d) python benchmarks/bench_compile.py
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._compile import cache_dir


def raw_segments(n: int, t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(100, 500, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 2, size=(n, t, 17, 2)), axis=1)
    return (base + walk + rng.normal(0, 30, size=(n, 1, 17, 2))).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--seg-len", type=int, default=24)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    X = raw_segments(args.n, args.seg_len)
    det = DSNFDetector(epochs=1, random_state=0, n_threads=1, n_jobs=1).fit(X[:512])
    print(f"torch {torch.__version__}, cache {cache_dir()}, load {os.getloadavg()[0]:.2f}")

    def timed() -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        scores = det.decision_function(X)
        return time.perf_counter() - start, scores

    det.decision_function(X[:256])
    eager_s, eager = min(timed() for _ in range(2))[0], det.decision_function(X)
    det.set_params(compile=True)
    first_s, _ = timed()
    later_s, scores = min((timed() for _ in range(2)), key=lambda r: r[0])
    print(f"eager: {args.n / eager_s:,.0f} segments/s")
    print(f"compiled: first call {first_s:.1f} s, then {args.n / later_s:,.0f} segments/s "
          f"(x{eager_s / later_s:.2f}); max |score difference| "
          f"{np.max(np.abs(scores - eager)):.2e}; load {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
