"""Scores of small fixed-seed fits, to compare two checkouts bit for bit.

Fits small detectors at a fixed ``random_state`` on synthetic pixel segments
(several spaces, both anomaly scores, missing joints, no hold-out, raw
coordinates, float64 input, flattened input, chunked scoring of 4,500
segments) and, when ``/work/shared/data/poselift`` or ``$POSELIFT_DIR``
exists, on 600 real PoseLift training segments; saves every score array::

    OMP_NUM_THREADS=1 PYTHONPATH=<checkout A> python benchmarks/identity_check.py a.npz
    OMP_NUM_THREADS=1 PYTHONPATH=<checkout B> python benchmarks/identity_check.py b.npz
    python benchmarks/identity_check.py --compare a.npz b.npz
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path), np.load(b_path)
    if sorted(a) != sorted(b):
        print("different arrays:", sorted(set(a) ^ set(b)))
        return 1
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    print(f"{len(a)} arrays, {len(differ)} differ" + (f": {differ}" if differ else ""))
    return int(bool(differ))


def main(out: str) -> None:
    import torch

    from pyod_dsnf import DSNFDetector

    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    base = rng.uniform(100, 400, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 3, size=(60, 10, 17, 2)), axis=1)
    X = (base + walk + rng.normal(0, 20, size=(60, 1, 17, 2))).astype(np.float32)
    conf = rng.uniform(0.2, 1, size=(60, 10, 17, 1)).astype(np.float32)
    conf[rng.random(conf.shape) < 0.1] = 0.0
    X3 = np.concatenate([X, conf], -1)
    X3[..., 0][X3[..., 2] == 0] = np.nan
    big = np.repeat(X, 80, axis=0)[:4500] + rng.normal(0, 1, size=(4500, 10, 17, 2)).astype(
        np.float32
    )
    configs = {
        "dual": ({}, X3),
        "dual_nll": ({"anomaly_score": "nll"}, X),
        "euclid_invconv": ({"space": "euclidean", "permutation": "invconv", "augment": False}, X),
        "hyper_learnc_noise": (dict(space="hyperbolic", learn_curvature=True, noise_std=0.05), X),
        "noval_raw": ({"validation_fraction": 0.0, "normalize": False, "lr": 1e-3}, X),
        "f64": ({}, X.astype(np.float64)),
    }
    res = {}
    for name, (kw, data) in configs.items():
        det = DSNFDetector(n_flow_steps=2, hidden_channels=4, epochs=3, batch_size=16,
                           random_state=7, n_threads=1, **kw).fit(data)  # fmt: skip
        res[name] = det.decision_function(data)
        res[name + "_train"] = det.decision_scores_
        res[name + "_joint"] = det.joint_nll(data[:7])
        res[name + "_threshold"] = np.array([det.threshold_])
        res[name + "_flat"] = det.decision_function(data.reshape(len(data), -1))
        if name == "dual_nll":
            res[name + "_big"] = det.decision_function(big)
    poselift = Path(os.environ.get("POSELIFT_DIR", "/work/shared/data/poselift"))
    if (poselift / "pose" / "train").is_dir():
        from pyod_dsnf.datasets import load_dataset
        from pyod_dsnf.poses import segment_tracks

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = load_dataset(poselift)
        train = segment_tracks(ds.train, seg_len=12, stride=12).X
        test = segment_tracks(ds.test, seg_len=12, stride=6).X
        Xp = train[np.random.default_rng(0).permutation(len(train))[:600]]
        det = DSNFDetector(n_flow_steps=2, hidden_channels=4, epochs=2, random_state=0,
                           n_threads=1).fit(Xp)  # fmt: skip
        res["poselift_train"] = det.decision_scores_
        res["poselift_test"] = det.decision_function(test)
    np.savez(out, **res)
    print(f"saved {len(res)} arrays to {out}")


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    main(sys.argv[1])
