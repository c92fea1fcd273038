import json
import warnings

import numpy as np
import pytest

from pyod_dsnf.poses import Clip, Track, clip_id_from_path, load_tracks
from pyod_dsnf.poses.skeletons import coco17_to_openpose18
from tests._pose_files import expected_keypoints, pose, write_tracks

NAME = "01_0007_alphapose_tracked_person.json"


@pytest.mark.parametrize("pad", [0, 4])
def test_round_trip_padded_and_unpadded_keys(tmp_path, pad):
    path = write_tracks(tmp_path / NAME, {"3": [5, 6, 7, 9], "1": [0, 1]}, pad=pad, score=0.75)
    clip = load_tracks(path)
    assert clip.clip_id == "01_0007"
    assert [t.person for t in clip.tracks] == [1, 3]  # sorted by person id
    t3 = clip.tracks[1]
    np.testing.assert_array_equal(t3.frames, [5, 6, 7, 9])
    assert t3.keypoints.dtype == np.float32 and t3.keypoints.shape == (4, 17, 3)
    np.testing.assert_array_equal(t3.keypoints, expected_keypoints([5, 6, 7, 9], k=0))
    np.testing.assert_allclose(t3.scores, 0.75)
    assert not t3.filled.any()
    assert clip.last_frame == 9 and clip.n_person_frames == 6


def test_null_scores_become_nan_and_frames_are_sorted(tmp_path):
    data = {"2": {"10": {"keypoints": pose(10), "scores": None},
                  "4": {"keypoints": pose(4), "scores": None}}}  # fmt: skip
    (tmp_path / NAME).write_text(json.dumps(data))
    t = load_tracks(tmp_path / NAME).tracks[0]
    np.testing.assert_array_equal(t.frames, [4, 10])
    assert np.isnan(t.scores).all()
    np.testing.assert_array_equal(t.keypoints, expected_keypoints([4, 10]))


def test_openpose18_layout_converts(tmp_path):
    path = write_tracks(tmp_path / NAME, {"0": [0, 1]})
    kp = load_tracks(path, layout="openpose18").tracks[0].keypoints
    assert kp.shape == (2, 18, 3)
    np.testing.assert_allclose(kp, coco17_to_openpose18(expected_keypoints([0, 1])))


def test_clip_id_override_and_names():
    assert clip_id_from_path("a/b/06_0112_alphapose_tracked_person.json") == "06_0112"
    assert clip_id_from_path("x/clip9.json") == "clip9"


def test_nan_confidence_set_to_zero_counted_and_warned(tmp_path):
    kp = pose(0)
    kp[2] = float("nan")
    (tmp_path / NAME).write_text(json.dumps({"0": {"0": {"keypoints": kp, "scores": None}}}))
    with pytest.warns(UserWarning, match="1 NaN joint confidences set to 0"):
        clip = load_tracks(tmp_path / NAME)
    assert clip.n_nan_confidence == 1 and clip.tracks[0].keypoints[0, 0, 2] == 0
    with pytest.raises(ValueError, match="NaN joint confidence"):
        load_tracks(tmp_path / NAME, nan_confidence="raise")


def _write(tmp_path, data, raw=False):
    path = tmp_path / NAME
    path.write_text(data if raw else json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ('{"1": {"0": {"keypoints": [1, 2', "not valid JSON"),
        ([1, 2], "expected a JSON object"),
        ({"a": {"0": {"keypoints": pose(0)}}}, "person id 'a' is not an integer"),
        ({"1": [1]}, "person 1: expected an object"),
        ({"1": {"x": {"keypoints": pose(0)}}}, "frame key 'x' is not an integer"),
        ({"1": {"-3": {"keypoints": pose(0)}}}, "frame key '-3' is negative"),
        ({"1": {"0": {"kp": pose(0)}}}, "frame 0: expected an object with 'keypoints'"),
        ({"1": {"0": {"keypoints": pose(0, 18)}}}, "frame 0: 'keypoints' must be a list of 51"),
        ({"1": {"0": {"keypoints": pose(0)}, "1": {"keypoints": pose(0)[:-3]}}},
         "frame 1: 'keypoints' must be a list of 51 numbers .* got 48"),
        ({"1": {"0": {"keypoints": ["a", *pose(0)[1:]]}}}, "frame 0: keypoints hold a non-numeric"),
        ({"1": {"0": {"keypoints": [None, *pose(0)[1:]]}}}, "non-numeric value None"),
        ({"1": {"0": {"keypoints": [True, *pose(0)[1:]]}}}, "non-numeric value True"),
        ({"1": {"0": {"keypoints": pose(0), "scores": "high"}}}, "'scores' must be a number"),
        ({"1": {"7": {"keypoints": pose(0)}, "007": {"keypoints": pose(0)}}},
         "frame 7 twice"),
        ({"1": {"0": {"keypoints": pose(0)}}, "01": {"0": {"keypoints": pose(0)}}},
         "person id occurs twice"),
    ],
)  # fmt: skip
def test_malformed_files_raise_naming_the_file(tmp_path, data, match):
    path = _write(tmp_path, data, raw=isinstance(data, str))
    with pytest.raises(ValueError, match=match) as info:
        load_tracks(path)
    assert NAME in str(info.value)


def test_nan_coordinate_raises(tmp_path):
    path = _write(tmp_path, '{"1": {"0": {"keypoints": [NaN' + ", 1" * 50 + "]}}}", raw=True)
    with pytest.raises(ValueError, match=f"{NAME}: person 1 frame 0: .*non-finite coordinate"):
        load_tracks(path)


def test_empty_person_is_skipped_and_bad_layout_rejected(tmp_path):
    path = _write(tmp_path, {"1": {}, "2": {"3": {"keypoints": pose(3)}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip = load_tracks(path)
    assert [t.person for t in clip.tracks] == [2]
    with pytest.raises(ValueError, match="layout must be one of"):
        load_tracks(path, layout="body25")


def test_track_validation():
    kp = np.zeros((3, 17, 3))
    with pytest.raises(ValueError, match="strictly increasing"):
        Track(0, [0, 2, 1], kp, np.zeros(3))
    with pytest.raises(ValueError, match=r"keypoints must have shape \(n_frames=2"):
        Track(0, [0, 1], kp, np.zeros(2))


def test_tracked_frames():
    clip = Clip("c", [Track(0, [1, 2], np.zeros((2, 17, 3)), np.zeros(2)),
                      Track(1, [4], np.zeros((1, 17, 3)), np.zeros(1))])  # fmt: skip
    np.testing.assert_array_equal(clip.tracked_frames(6), [0, 1, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="n_frames=4 is too short"):
        clip.tracked_frames(4)


def test_a_null_keypoint_value_is_a_value_error_naming_the_pose(tmp_path):
    """Found by the AlphaPose fuzzer: a null among the keypoints was a TypeError from numpy."""
    from pathlib import Path

    from pyod_dsnf.poses.tracks import check_keypoint_values

    kp = np.array([[[1.0, 2.0, 0.5]], [[1.0, None, 0.5]]], dtype=object)
    with pytest.raises(ValueError, match=r"x\.json: frame 1: keypoints hold a value that is not"):
        check_keypoint_values(kp, ["frame 0", "frame 1"], Path("x.json"))
