import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyod_dsnf.poses import Clip, Track, segment_tracks


def _track(frames, person=0):
    frames = np.asarray(frames, dtype=np.int64)
    kp = np.zeros((len(frames), 17, 3), dtype=np.float32)
    kp[..., 0] = frames[:, None]  # x holds the frame index
    kp[..., 1] = person
    return Track(person, frames, kp, np.zeros(len(frames)))


def test_counts_and_contents():
    # runs: 0..9 (10 frames), 20..24 (5), and person 1: 3..14 (12)
    clips = [Clip("a", [_track([*range(10), *range(20, 25)]), _track(range(3, 15), person=1)])]
    seg = segment_tracks(clips, seg_len=4, stride=3)
    # run of 10: starts 0,3,6 ; run of 5: start 0 ; run of 12: starts 0,3,6
    assert len(seg) == 3 + 1 + 3
    assert seg.start.tolist() == [0, 3, 6, 20, 3, 6, 9]
    assert seg.person.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert seg.clip.tolist() == ["a"] * 7 and seg.length.tolist() == [4] * 7
    assert seg.X.shape == (7, 4, 17, 3) and seg.X.dtype == np.float32
    np.testing.assert_array_equal(seg.X[:, :, 0, 0], seg.start[:, None] + np.arange(4))
    assert seg.counts == {"n_runs": 3, "n_short_runs": 0, "n_short_padded": 0,
                          "n_short_skipped": 0, "n_frames_skipped": 0}  # fmt: skip


def test_cover_tail():
    seg = segment_tracks(Clip("a", [_track(range(10))]), seg_len=4, stride=4, cover_tail=True)
    assert seg.start.tolist() == [0, 4, 6]
    seg = segment_tracks(Clip("a", [_track(range(8))]), seg_len=4, stride=4, cover_tail=True)
    assert seg.start.tolist() == [0, 4]


def test_short_tracks_skipped_or_edge_padded():
    clip = Clip("a", [_track([5, 6, 7]), _track(range(10, 16), person=2)])
    seg = segment_tracks(clip, seg_len=5)
    assert seg.start.tolist() == [10, 11] and seg.counts["n_short_skipped"] == 1
    assert seg.counts["n_frames_skipped"] == 3
    seg = segment_tracks(clip, seg_len=5, pad_short=True)
    assert seg.start.tolist() == [5, 10, 11] and seg.length.tolist() == [3, 5, 5]
    np.testing.assert_array_equal(seg.X[0, :, 0, 0], [5, 6, 7, 7, 7])  # last frame repeated
    assert seg.counts["n_short_padded"] == 1 and seg.counts["n_frames_skipped"] == 0


def test_empty_and_errors():
    seg = segment_tracks([Clip("a", [])], seg_len=6)
    assert seg.X.shape[0] == 0 and seg.X.shape[1] == 6
    with pytest.raises(ValueError, match="seg_len must be an integer >= 1, got 0"):
        segment_tracks([], seg_len=0)
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        segment_tracks([], stride=1.5)
    bad = Track(1, [0], np.zeros((1, 18, 3)), np.zeros(1))
    with pytest.raises(ValueError, match="person 1 has 18 joints but earlier tracks have 17"):
        segment_tracks(Clip("a", [_track([0]), bad]))


@settings(max_examples=40, deadline=None)
@given(
    frames=st.sets(st.integers(0, 60), min_size=1, max_size=40),
    seg_len=st.integers(1, 8),
    stride=st.integers(1, 5),
    pad=st.booleans(),
)
def test_windows_are_consecutive_and_counted(frames, seg_len, stride, pad):
    t = _track(sorted(frames))
    seg = segment_tracks(Clip("a", [t]), seg_len=seg_len, stride=stride, pad_short=pad)
    have = set(frames)
    for x, s, n in zip(seg.X, seg.start, seg.length, strict=True):
        covered = list(range(s, s + n))
        assert set(covered) <= have  # a window never crosses a missing frame
        np.testing.assert_array_equal(x[:n, 0, 0], covered)
        np.testing.assert_array_equal(x[n:, 0, 0], covered[-1])
    runs = np.split(np.array(sorted(frames)), np.flatnonzero(np.diff(sorted(frames)) != 1) + 1)
    expected = sum(
        (len(r) - seg_len) // stride + 1 if len(r) >= seg_len else int(pad) for r in runs
    )
    assert len(seg) == expected
