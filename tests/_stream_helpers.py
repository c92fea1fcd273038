"""Shared pieces of the stream tests: one tiny fitted detector, clips as frame streams."""

from __future__ import annotations

from functools import cache

import numpy as np

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.poses import Clip, fill_gaps, segment_tracks

SEG_LEN = 8


@cache
def dataset():
    return make_pose_tracks(3, 3, n_frames=(80, 100), random_state=0)


@cache
def detector(anomaly_score: str = "joint") -> DSNFDetector:
    """Two flow steps, one epoch, T = 8: fitted once per test process."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seg = segment_tracks(fill_gaps(dataset().train)[0], seg_len=SEG_LEN, stride=4)
        return DSNFDetector(n_flow_steps=2, hidden_channels=4, epochs=1, batch_size=32,
                            anomaly_score=anomaly_score, random_state=0,
                            device="cpu").fit(seg.X)  # fmt: skip
    finally:
        torch.set_num_threads(before)


def frames_of(clip: Clip) -> dict[int, dict[int, np.ndarray]]:
    """Frame -> {person: keypoints} of a clip, frames sorted."""
    frames: dict[int, dict[int, np.ndarray]] = {}
    for t in clip.tracks:
        for f, kp in zip(t.frames.tolist(), t.keypoints, strict=True):
            frames.setdefault(f, {})[t.person] = kp
    return dict(sorted(frames.items()))
