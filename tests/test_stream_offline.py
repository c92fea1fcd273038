"""causal_segments / causal_tracks: the stream's windows, cut offline."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.poses import Clip, Track, fill_gaps
from pyod_dsnf.stream import causal_segments, causal_tracks
from tests._stream_helpers import dataset, detector


def _clip(frames, person=5, conf=0.9):
    frames = np.asarray(frames)
    kp = np.zeros((len(frames), 17, 3), np.float32)
    kp[:, :, 0] = frames[:, None]  # x = frame index: windows show which frames they hold
    kp[:, :, 2] = conf
    return Clip("c", [Track(person, frames, kp, np.zeros(len(frames)))])


def test_windows_end_at_every_frame_after_the_first_t_minus_one():
    seg = causal_segments(_clip(range(10)), 4, warm_up=False)
    np.testing.assert_array_equal(seg.start + seg.length - 1, range(3, 10))
    np.testing.assert_array_equal(seg.X[0, :, 0, 0], [0, 1, 2, 3])


def test_warm_up_windows_repeat_the_first_pose_and_count_real_frames():
    seg = causal_segments(_clip(range(10)), 4)
    end = seg.start + seg.length - 1
    np.testing.assert_array_equal(np.sort(end), range(10))  # every frame scored
    first = np.flatnonzero(end == 1)[0]
    np.testing.assert_array_equal(seg.X[first, :, 0, 0], [0, 0, 0, 1])
    assert seg.length[first] == 2
    strided = causal_segments(_clip(range(10)), 4, stride=2)
    np.testing.assert_array_equal(np.sort(strided.start + strided.length - 1), [0, 2, 3, 5, 7, 9])


def test_gaps_fill_or_split_like_fill_gaps():
    # frames 0-5, gap of 2 (filled), 8-11, gap of 5 (split), 17-20
    frames = [*range(6), *range(8, 12), *range(17, 21)]
    seg = causal_segments(_clip(frames), 4, max_gap=2, warm_up=False)
    np.testing.assert_array_equal(seg.start + seg.length - 1, [*range(3, 12), 20])
    np.testing.assert_allclose(seg.X[3, :, 0, 0], [3, 4, 5, 6])  # frame 6 interpolated


def test_windows_without_a_detected_joint_are_dropped():
    assert len(causal_segments(_clip(range(6), conf=0.0), 4)) == 0


@pytest.mark.usefixtures("one_torch_thread")
def test_causal_tracks_group_by_clip_and_person_in_frame_order():
    clips = dataset().test
    tracks, n_frames = causal_tracks(detector(), clips)
    assert n_frames == sum(c.last_frame + 1 for c in clips)
    assert len(tracks) == sum(len({t.person for t in c.tracks}) for c in clips)
    assert all((np.diff(f) > 0).all() for f, _ in tracks)
    filled, _ = fill_gaps(clips, max_gap=2)
    # with warm-up every person-frame is scored, frames interpolated across short gaps too
    assert sum(len(f) for f, _ in tracks) == sum(c.n_person_frames for c in filled)
    assert sum(len(f) for f, _ in tracks) > sum(c.n_person_frames for c in clips)
