"""DSNF on PoseLift (or any dataset in the pose/train, pose/test, gt layout): frame AUCs.

    python examples/poselift_frame_auc.py ../shared/data/poselift
    python examples/poselift_frame_auc.py ../shared/data/poselift --small

Prints the field protocol (STG-NF's, on raw tracks) and the person protocol (gaps
filled, every tracked frame scored), each beside random segment scores mapped the
same way (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.evaluation import evaluate
from pyod_dsnf.poses import fill_gaps, segment_tracks


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", help="dataset root, e.g. ../shared/data/poselift")
    p.add_argument("--seg-len", type=int, default=24)
    p.add_argument("--epochs", type=int, default=None, help="default: the estimator's")
    p.add_argument("--max-train-segments", type=int, default=None)
    p.add_argument("--small", action="store_true", help="tiny model on 300 training segments")
    a = p.parse_args(argv)
    params = {"random_state": 0}
    if a.small:
        params.update(n_flow_steps=2, hidden_channels=4, epochs=1)
        a.max_train_segments = a.max_train_segments or 300
    if a.epochs is not None:
        params["epochs"] = a.epochs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PoseLift's NaN confidences (counted)
        ds = load_dataset(a.data_dir)
    train, _ = fill_gaps(ds.train, max_gap=2)
    X = segment_tracks(train, seg_len=a.seg_len, stride=6).X
    if a.max_train_segments and len(X) > a.max_train_segments:
        pick = np.random.default_rng(0).choice(len(X), a.max_train_segments, replace=False)
        X = X[np.sort(pick)]
    t0 = time.perf_counter()
    det = DSNFDetector(**params).fit(X)
    print(f"trained on {len(X)} segments in {time.perf_counter() - t0:.1f} s")

    field = segment_tracks(ds.test, seg_len=a.seg_len, stride=1)
    test, _ = fill_gaps(ds.test, max_gap=2)
    person = segment_tracks(test, seg_len=a.seg_len, stride=1, pad_short=True)
    for name, seg, clips in (("field", field, ds.test), ("person", person, test)):
        res = evaluate(det.decision_function(seg.X), seg, ds.masks, clips, mode=name)
        print(f"[{name}]\n{res.summary()}\n")


if __name__ == "__main__":
    main()
