import numpy as np
import pytest

from pyod_dsnf.poses import Clip, Track, fill_gaps
from pyod_dsnf.poses.gaps import interpolate_missing


def _track(frames, person=0, seed=0):
    frames = np.asarray(frames)
    kp = np.zeros((len(frames), 17, 3), dtype=np.float32)
    kp[..., 0] = frames[:, None] * 10.0 + np.arange(17)  # linear in the frame index
    kp[..., 1] = frames[:, None] * -2.0 + seed
    kp[..., 2] = 0.8
    return Track(person, frames, kp, np.full(len(frames), 0.5, np.float32))


def test_short_gaps_filled_long_gaps_split():
    clip = Clip("c", [_track([0, 1, 3, 4, 5, 9, 10, 20, 21])])
    out, rep = fill_gaps(clip, max_gap=3)
    assert isinstance(out, Clip)
    assert [t.frames.tolist() for t in out.tracks] == [list(range(0, 11)), [20, 21]]
    assert all(t.person == 0 for t in out.tracks)
    assert rep.as_dict() == {
        "n_tracks": 1, "n_pieces": 2, "n_gaps_filled": 2, "n_frames_filled": 4,
        "n_splits": 1, "n_frames_in_splits": 9, "n_joints_filled": 0, "n_joints_unfilled": 0,
    }  # fmt: skip
    t = out.tracks[0]
    # interpolation of a linear function is exact
    np.testing.assert_allclose(t.keypoints[..., 0], t.frames[:, None] * 10.0 + np.arange(17))
    np.testing.assert_allclose(t.keypoints[..., 2], 0.8)
    np.testing.assert_array_equal(np.flatnonzero(t.filled), [2, 6, 7, 8])
    # the input is left untouched
    assert clip.tracks[0].frames.tolist() == [0, 1, 3, 4, 5, 9, 10, 20, 21]


def test_max_gap_zero_splits_everywhere_and_lists_in_lists_out():
    out, rep = fill_gaps([Clip("a", [_track([0, 2, 3])]), Clip("b", [])], max_gap=0)
    assert isinstance(out, list) and [c.clip_id for c in out] == ["a", "b"]
    assert [t.frames.tolist() for t in out[0].tracks] == [[0], [2, 3]]
    assert rep.n_splits == 1 and rep.n_gaps_filled == 0 and rep.n_pieces == 2


def test_zero_confidence_joints_interpolated():
    t = _track([0, 1, 2, 3])
    t.keypoints[1, 4] = (0.0, 0.0, 0.0)  # undetected joint, coordinates garbage
    t.keypoints[:, 7, 2] = 0.0  # never detected
    out, rep = fill_gaps(Clip("c", [t]))
    kp = out.tracks[0].keypoints
    np.testing.assert_allclose(kp[1, 4, :2], (10.0 + 4, -2.0))
    assert kp[1, 4, 2] == 0.0  # confidence kept at 0
    np.testing.assert_array_equal(kp[:, 7], t.keypoints[:, 7])
    assert rep.n_joints_filled == 1 and rep.n_joints_unfilled == 4
    _, rep = fill_gaps(Clip("c", [t]), fill_joints=False)
    assert rep.n_joints_filled == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_max_gap(bad):
    with pytest.raises(ValueError, match="max_gap must be a non-negative integer"):
        fill_gaps(Clip("c", []), max_gap=bad)


def test_bad_clips_type():
    with pytest.raises(TypeError, match="clips must hold Clip objects, got dict at index 0"):
        fill_gaps([{}])


def test_interpolate_missing_in_time():
    """The one interpolation of missing joints (used by _validation.prepare_segments)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 7, 4, 2))
    valid = rng.random((3, 7, 4)) > 0.4
    valid[0, :, 1] = False  # never valid: left as it is
    valid[1, :, 2] = [False, True, False, False, True, False, False]
    filled, never = interpolate_missing(values, valid)
    assert never[0, :, 1].all() and not never[1].any()
    np.testing.assert_array_equal(filled[0, :, 1], values[0, :, 1])
    np.testing.assert_array_equal(filled[valid], values[valid])
    for n, v in zip(*np.nonzero(valid.any(axis=1)), strict=True):
        ok = valid[n, :, v]
        for c in range(2):
            expected = np.interp(np.arange(7), np.flatnonzero(ok), values[n, ok, v, c])
            np.testing.assert_allclose(filled[n, :, v, c], expected, rtol=1e-12)
