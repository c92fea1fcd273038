"""Numerical stress of DSNFDetector: curvature and learning-rate ranges; prints a table.

    python benchmarks/bench_stress.py

Each row fits a small detector (2 flow steps, H = 4, 64 walking segments of
T = 8 from tests/_skeletons.py) and scores 16 normal test segments plus one far
outside the training range. "finite" = every score finite; "far top" = the far
segment gets the highest score; "FloatingPointError" = training stopped with
the message naming cause and remedy.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyod_dsnf import DSNFDetector
from tests._skeletons import walking_segments

T = 8


def run(X, X_test, **params) -> str:
    base = dict(n_flow_steps=2, hidden_channels=4, epochs=3, batch_size=32, random_state=0)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            det = DSNFDetector(**{**base, **params}).fit(X)
            scores = det.decision_function(X_test)
    except FloatingPointError as exc:
        why = str(exc).split(";")[0][:60]
        return f"FloatingPointError ({why}...) | {time.perf_counter() - t0:.1f}"
    finite = bool(np.isfinite(scores).all())
    top = int(np.argmax(scores)) == len(X_test) - 1
    c = det.curvature_
    return f"finite={finite}, far top={top}, curvature_={c:.3g} | {time.perf_counter() - t0:.1f}"


def main() -> None:
    torch.set_num_threads(1)
    X = walking_segments(64, T, seed=0)
    far = walking_segments(1, T, seed=9)
    far[..., :2] += np.random.default_rng(1).normal(0.0, 80.0, far[..., :2].shape)
    X_test = np.concatenate([walking_segments(16, T, seed=5), far])
    print("setting | result | fit+score s")
    for space in ("dual", "hyperbolic"):
        for learn in (False, True):
            for c in (1e-8, 1e-4, 1e-2, 1.0, 1e2, 1e3, 1e4, 1e6):
                name = f"space={space} curvature={c:g} learn_curvature={learn} (3 epochs)"
                print(f"{name} | {run(X, X_test, space=space, curvature=c, learn_curvature=learn)}")
    for lr in (1e-2, 1e-1, 1.0, 10.0, 100.0):
        for c in (1.0, 1e3):
            params = dict(
                lr=lr, curvature=c, learn_curvature=True, epochs=15, n_iter_no_change=None
            )
            name = f"lr={lr:g} curvature={c:g} learnable, max_grad_norm=5 (15 epochs)"
            print(f"{name} | {run(X, X_test, **params)}")
    default = DSNFDetector().get_params()
    k, h = default["n_flow_steps"], default["hidden_channels"]
    for label, size in ((f"default size (K={k}, H={h})", {"n_flow_steps": k, "hidden_channels": h}),
                        ("K=8, H=16", {"n_flow_steps": 8, "hidden_channels": 16})):  # fmt: skip
        params = dict(lr=1.0, curvature=1e3, learn_curvature=True, epochs=10,
                      n_iter_no_change=None, **size)  # fmt: skip
        print(f"{label} lr=1 curvature=1e3 learnable (10 epochs) | {run(X, X_test, **params)}")


if __name__ == "__main__":
    main()
