"""Segments/s of the preparation (checks, imputation, normalisation) now and at commit REV.

Loads ``_validation.py`` of commit REV (``git show``) beside the current
``pyod_dsnf.detector._validation``, checks that both give the same float32 output bit for
bit (raw pixel segments with C = 2, with C = 3 and missing joints, float64 input,
normalised or not), and times ``prepare_segments`` of both on the same segments::

    OMP_NUM_THREADS=1 python benchmarks/bench_prepare.py --rev 1fcca76
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import types
from pathlib import Path

import numpy as np

from pyod_dsnf.detector import _validation as current


def old_module(rev: str) -> types.ModuleType:
    root = Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:pyod_dsnf/_validation.py"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    src = src.replace("from pyod_dsnf.graph import", "from pyod_dsnf.poses.skeletons import")
    module = types.ModuleType(f"validation_{rev}")
    exec(compile(src, f"{rev}:pyod_dsnf/_validation.py", "exec"), module.__dict__)
    return module


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rev", default="1fcca76")
    ap.add_argument("--n", type=int, default=4096)
    args = ap.parse_args(argv)
    old = old_module(args.rev)
    rng = np.random.default_rng(0)
    n, t = args.n, 24
    base = rng.uniform(100, 500, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 2, size=(n, t, 17, 2)), axis=1)
    seg = (base + walk + rng.normal(0, 30, size=(n, 1, 17, 2))).astype(np.float32)
    seg3 = np.concatenate([seg, rng.uniform(0, 1, size=(n, t, 17, 1)).astype(np.float32)], -1)
    seg3[::7, 3, 4, 2] = 0
    for X in (seg, seg3, seg.astype(np.float64)):
        for normalize in (True, False):
            same = np.array_equal(old.prepare_segments(X, normalize=normalize),
                                  current.prepare_segments(X, normalize=normalize))  # fmt: skip
            if not same:
                raise SystemExit(f"outputs differ: shape {X.shape}, normalize={normalize}")
    print(f"same output bit for bit; load {os.getloadavg()[0]:.2f}")
    for name, module in ((args.rev, old), ("this checkout", current)):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            module.prepare_segments(seg, normalize=True)
            best = min(best, time.perf_counter() - start)
        print(f"  {name:<14} {n / best:>9,.0f} segments/s (raw pixels, C = 2, normalize=True)")


if __name__ == "__main__":
    main()
