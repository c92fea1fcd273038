"""The causal windowing recipe (poses/causal.py): known windows, and one recipe for all callers."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.pipeline import Windowing, cut
from pyod_dsnf.poses import Clip, Track
from pyod_dsnf.poses.causal import causal_due, causal_segments, causal_window


def _clip(frames, person=5):
    frames = np.asarray(frames)
    kp = np.zeros((len(frames), 3, 3), np.float32)
    kp[:, :, 0] = frames[:, None]
    kp[:, :, 2] = 1.0
    return Clip("c", [Track(person, frames, kp, np.zeros(len(frames)))])


def test_window_positions_are_known_and_start_padded():
    np.testing.assert_array_equal(
        causal_window(np.array([1, 2, 4, 7]), 4),
        [[0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 2, 3], [3, 4, 5, 6]],
    )


def test_due_counts_with_and_without_warm_up():
    n = np.arange(1, 12)
    assert n[causal_due(n, 4, 1, warm_up=False)].tolist() == list(range(4, 12))
    assert n[causal_due(n, 4, 3, warm_up=False)].tolist() == [4, 7, 10]
    assert n[causal_due(n, 4, 3, warm_up=True)].tolist() == [1, 4, 7, 10]
    assert n[causal_due(n, 4, 2, warm_up=True)].tolist() == [1, 3, 4, 6, 8, 10]


def test_ring_positions_read_the_same_frames_as_the_run():
    t = 5
    run = np.arange(100, 113)  # frame i of the run held at ring position i % t
    for n in range(1, len(run) + 1):
        ring = np.empty(t, np.int64)
        for i in range(n):
            ring[i % t] = run[i]
        idx = causal_window(np.array([n]), t)[0]
        np.testing.assert_array_equal(ring[idx % t], run[idx])


def test_cut_with_the_causal_windowing_is_causal_segments():
    clip = _clip([*range(6), *range(8, 12), *range(17, 21)])
    a = causal_segments(clip, 4, max_gap=2, stride=2)
    segset = cut(clip, Windowing.causal(4, stride=2, max_gap=2))
    b = segset.segments
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.start + a.length - 1, b.start + b.length - 1)
    # frames 0-11 (6 and 7 filled) are one run, 17-20 a second; stride 2 with warm-up
    # scores counts 1, 3 (warm-up), then 4, 6, 8, ... of each run
    assert segset.gaps.n_frames_filled == 2
    np.testing.assert_array_equal(b.start + b.length - 1, [0, 2, 3, 5, 7, 9, 11, 17, 19, 20])
    np.testing.assert_array_equal(b.X[1, :, 0, 0], [0, 0, 1, 2])  # warm-up window at frame 2
    np.testing.assert_array_equal(b.X[2, :, 0, 0], [0, 1, 2, 3])
    assert segset.windowing.protocol == "causal"


def test_causal_windowing_is_checked():
    with pytest.raises(ValueError, match="protocol must be one of"):
        Windowing("live", 4)
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        cut(_clip(range(5)), Windowing.causal(4, stride=0))
