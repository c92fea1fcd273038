"""DSNF next to PyOD detectors on the same normalized segments and the same frame mapping.

Every PyOD detector gets exactly what the flow sees: ``normalize_segments`` (centred,
scaled, missing joints filled) flattened to one row per segment.

    python examples/compare_pyod.py
    python examples/compare_pyod.py --small
"""

from __future__ import annotations

import argparse
import time

from pyod.models.ecod import ECOD
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.models.lof import LOF

from pyod_dsnf import DSNFDetector, normalize_segments
from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.evaluation import evaluate
from pyod_dsnf.poses import fill_gaps, segment_tracks


def flat(X):
    return normalize_segments(X).reshape(len(X), -1)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="tiny data and model")
    a = p.parse_args(argv)
    n_train, n_test = (3, 3) if a.small else (16, 10)
    model = (
        {"n_flow_steps": 2, "hidden_channels": 4, "epochs": 1}
        if a.small
        else {"n_flow_steps": 4, "hidden_channels": 8, "epochs": 8}
    )

    ds = make_pose_tracks(n_train, n_test, random_state=0)
    train, _ = fill_gaps(ds.train, max_gap=2)
    test, _ = fill_gaps(ds.test, max_gap=2)
    tr = segment_tracks(train, seg_len=12, stride=3)
    te = segment_tracks(test, seg_len=12, stride=1, pad_short=True)
    F_train, F_test = flat(tr.X), flat(te.X)

    candidates = [
        ("DSNF", DSNFDetector(batch_size=128, lr=5e-3, random_state=0, **model), tr.X, te.X),
        ("IForest", IForest(random_state=0), F_train, F_test),
        ("LOF", LOF(), F_train, F_test),
        ("KNN", KNN(), F_train, F_test),
        ("ECOD", ECOD(), F_train, F_test),
    ]
    print(f"{'method':<8} {'AUC all':>8} {'AUC person':>11} {'AUC-PR':>7} {'fit s':>6}")
    for name, det, X_fit, X_score in candidates:
        t0 = time.perf_counter()
        det.fit(X_fit)
        fit_s = time.perf_counter() - t0
        res = evaluate(det.decision_function(X_score), te, ds.masks, test, n_random=0)
        print(
            f"{name:<8} {100 * res.auc_roc:8.2f} {100 * res.auc_roc_person_frames:11.2f} "
            f"{100 * res.auc_pr:7.2f} {fit_s:6.1f}"
        )


if __name__ == "__main__":
    main()
