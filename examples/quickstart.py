"""Quick start: train DSNF on synthetic pose tracks and get frame-level anomaly scores.

python examples/quickstart.py            # about a minute on 2 CPU cores
python examples/quickstart.py --small    # a few seconds (tiny model, for tests)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.evaluation import evaluate
from pyod_dsnf.poses import fill_gaps, segment_tracks


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

    # 1. pose tracks: normal people walking (train), some abnormal behaviour (test)
    ds = make_pose_tracks(n_train, n_test, random_state=0)
    train, _ = fill_gaps(ds.train, max_gap=2)
    test, _ = fill_gaps(ds.test, max_gap=2)

    # 2. windows of T = 12 frames of one person: (n_segments, T, 17 joints, x/y/confidence)
    train_seg = segment_tracks(train, seg_len=12, stride=3)
    test_seg = segment_tracks(test, seg_len=12, stride=1, pad_short=True)
    print(f"train {train_seg.X.shape}, test {test_seg.X.shape}")

    # 3. fit on normal segments, score test segments (higher = more abnormal)
    det = DSNFDetector(batch_size=128, lr=5e-3, random_state=0, **model)
    det.fit(train_seg.X)
    scores = det.decision_function(test_seg.X)

    # 4. segment scores -> per-frame scores -> frame-level metrics
    res = evaluate(scores, test_seg, ds.masks, test, mode="person")
    print(res.summary())

    # 5. save and load (weights + JSON, nothing executable). load puts the model where
    #    `device` says (default: the CPU), whatever device it was fitted on; here back on
    #    det.device_. On another device scores agree to float32 round-off, not bit for bit.
    with tempfile.TemporaryDirectory() as tmp:
        det.save(Path(tmp) / "model.dsnf")
        again = DSNFDetector.load(Path(tmp) / "model.dsnf", device=det.device_)
        diff = np.abs(again.decision_function(test_seg.X[:5]) - scores[:5]).max()
        assert diff <= 1e-4 * max(1.0, np.abs(scores[:5]).max()), diff
    print(f"fitted on {det.device_}, reloaded onto {again.device_}: same scores "
          f"(max diff {diff:.1e})")


if __name__ == "__main__":
    main()
