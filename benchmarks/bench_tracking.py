"""Norfair person ids against the true ids of synthetic clips, per detection.

Needs the ``[track]`` extra. ``python benchmarks/bench_tracking.py`` prints the
purity (share of each assigned id's detections that come from its main true
person: 1 = no id ever jumps between people), the assigned ids per true track
(1 = no fragmentation) and the speed.
"""

from __future__ import annotations

import time

import numpy as np

from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.poses.formats import track_keypoints


def main() -> None:
    ds = make_pose_tracks(n_train_clips=1, n_test_clips=8, random_state=0)
    n = pure = frag = true_tracks = 0
    seconds = 0.0
    for clip in ds.test:
        frames = np.concatenate([t.frames for t in clip.tracks])
        kp = np.concatenate([t.keypoints for t in clip.tracks]).astype(np.float64)
        true = np.concatenate([np.full(len(t), t.person) for t in clip.tracks])
        order = np.argsort(frames, kind="stable")
        t0 = time.perf_counter()
        ids = track_keypoints(frames[order], kp[order])
        seconds += time.perf_counter() - t0
        true = true[order]
        for i in np.unique(ids):
            pure += np.unique(true[ids == i], return_counts=True)[1].max()
        for p in np.unique(true):
            frag += len(np.unique(ids[true == p]))
            true_tracks += 1
        n += len(ids)
    print(f"{len(ds.test)} clips, {n} detections, {true_tracks} true tracks")
    print(f"purity {pure / n:.4f}, assigned ids per true track {frag / true_tracks:.2f}")
    print(f"{n / seconds:.0f} detections/s")


if __name__ == "__main__":
    main()
