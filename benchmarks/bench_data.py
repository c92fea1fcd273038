"""Time loading, gap filling, windowing and frame mapping of a pose dataset; prints a table.

python benchmarks/bench_data.py ../shared/data/poselift
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.evaluation import evaluate
from pyod_dsnf.poses import fill_gaps, segment_tracks


def main(root: str) -> None:
    rows = []

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        rows.append((name, time.perf_counter() - t0))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = timed("load_dataset", lambda: load_dataset(root))
    train, train_report = timed("fill_gaps (train)", lambda: fill_gaps(ds.train))
    test, test_report = fill_gaps(ds.test)
    tr = timed("segment_tracks train T=24 stride=1", lambda: segment_tracks(train, 24, 1))
    te = timed(
        "segment_tracks test T=24 stride=1 pad", lambda: segment_tracks(test, 24, 1, pad_short=True)
    )
    s = np.random.default_rng(0).uniform(size=len(te))
    timed("evaluate person (n_random=10)", lambda: evaluate(s, te, ds.masks, test, n_random=10))
    timed(
        "evaluate field (n_random=10)",
        lambda: evaluate(s, te, ds.masks, test, mode="field", n_random=10),
    )
    print(f"train gaps: {train_report.as_dict()}")
    print(f"test gaps: {test_report.as_dict()}")
    print(f"train X {tr.X.shape} ({tr.X.nbytes / 2**20:.0f} MiB), test X {te.X.shape}")
    print(f"{'step':<40} {'seconds':>8}")
    for name, sec in rows:
        print(f"{name:<40} {sec:>8.2f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/bench_data.py DATASET_ROOT")
    main(sys.argv[1])
