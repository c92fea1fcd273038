"""How much do people move in a dataset's normal (training) footage? Prints a table.

The still-pose diagnosis of docs/method.md rests on these figures: per training window
(T frames, stride as given) the median frame-to-frame joint displacement relative to the
pose's size, compared with the synthetic "frozen" anomaly of
``benchmarks/select_defaults.py`` (a confident pose of the window held still, plus 1 %
keypoint noise), and how often consecutive frames repeat a pose exactly.

Usage::

    python benchmarks/pose_motion.py ../shared/data/poselift
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from select_defaults import _size, synthetic_anomalies

from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.poses import fill_gaps, segment_tracks


def median_motion(x: np.ndarray) -> np.ndarray:
    """Median joint displacement between consecutive frames / pose size, per window."""
    step = np.linalg.norm(np.diff(x[..., :2], axis=1), axis=-1)
    return np.median(step, axis=(1, 2)) / _size(x)[:, 0, 0, 0]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--seg-len", type=int, default=24)
    ap.add_argument("--stride", type=int, default=12)
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PoseLift's NaN confidences are reported elsewhere
        ds = load_dataset(args.data_dir)
    for name, clips in (("train", ds.train), ("test", ds.test)):
        same = pairs = 0
        for clip in clips:
            for track in clip.tracks:
                adjacent = np.diff(track.frames) == 1
                xy = track.keypoints[..., :2]
                repeat = np.all(xy[1:] == xy[:-1], axis=(1, 2))
                same += int((repeat & adjacent).sum())
                pairs += int(adjacent.sum())
        print(f"{name}: consecutive frame pairs repeating the pose exactly: "
              f"{same:,} / {pairs:,} = {100 * same / pairs:.1f} %")  # fmt: skip
    train, _ = fill_gaps(ds.train, max_gap=2)
    t = args.seg_len
    long = segment_tracks(train, seg_len=2 * t, stride=args.stride).X
    normal = long[:, :t]
    frozen = synthetic_anomalies(normal, long, np.random.default_rng(0))["frozen"]
    m, mf = median_motion(normal), median_motion(frozen)
    print(f"\n{len(normal):,} training windows (T = {t}, stride {args.stride}); median joint "
          f"displacement per frame / pose size:")  # fmt: skip
    print("| windows | 5 % | 25 % | 50 % | 75 % | 95 % |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, v in (("normal (training)", m), ("synthetic frozen", mf)):
        q = np.percentile(v, [5, 25, 50, 75, 95])
        print(f"| {label} | " + " | ".join(f"{x:.4f}" for x in q) + " |")
    print(f"\nnormal windows where at least half of the joint steps are exactly 0 "
          f"(held poses, joints stuck where the estimator lost them): "
          f"{100 * np.mean(m == 0):.1f} %")  # fmt: skip
    print(f"normal windows moving less than the median frozen window: "
          f"{100 * np.mean(m < np.median(mf)):.1f} %")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
