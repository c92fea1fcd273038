"""The body's orientation: estimated at fit, stored, applied before the flow, drawn upright."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._validation import mirror_segments, prepare_segments
from pyod_dsnf.detector.orientation import (
    IMAGE_UP,
    body_axis_joints,
    canonical_rotation,
    canonical_segments,
    detector_rotation,
    estimate_up,
    rotate_segments,
)
from pyod_dsnf.poses.skeletons import COCO17, OPENPOSE18, SkeletonGraph
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EPS32 = float(np.finfo(np.float32).eps)
T = 8


def _turn(X: np.ndarray, degrees: float) -> np.ndarray:
    """Segments ``(n, T, V, C)`` turned by ``degrees`` about the image origin (confidences kept)."""
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = X.copy()
    out[..., :2] = X[..., :2] @ rot.T
    return out


def _quarter_turn(X: np.ndarray) -> np.ndarray:
    """(x, y) -> (-y, x): a 90 degree turn that is exact in floating point."""
    out = X.copy()
    out[..., 0], out[..., 1] = -X[..., 1], X[..., 0]
    return out


def _canonical(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return canonical_segments(prepare_segments(X, normalize=True), X, COCO17)


@pytest.fixture(scope="module")
def upright() -> np.ndarray:
    return walking_segments(96, T, seed=0)


# ------------------------------------------------------------------ estimate
def test_layouts_name_their_head_and_leg_joints():
    for graph in (COCO17, OPENPOSE18):
        upper, lower = body_axis_joints(graph)
        names = np.asarray(graph.joint_names)
        assert "nose" in names[upper] and "left_ankle" in names[lower]
        assert not set(upper) & set(lower)
    nameless = SkeletonGraph("line", 3, ((0, 1), (1, 2)), center=(1,))
    assert body_axis_joints(nameless) is None
    data = np.random.default_rng(0).normal(size=(4, 2, T, 3)).astype(np.float32)
    np.testing.assert_array_equal(estimate_up(data, None, nameless), IMAGE_UP)


@pytest.mark.parametrize("degrees", [0.0, 37.0, 90.0, 180.0, -120.0])
def test_up_direction_turns_with_the_poses(upright, degrees):
    up = estimate_up(prepare_segments(_turn(upright, degrees), normalize=True),
                     None, COCO17)  # fmt: skip
    a = np.deg2rad(degrees)
    # the walkers stand upright: their up is image up (0, -1), turned by the angle
    expected = np.array([np.sin(a), -np.cos(a)])
    assert np.hypot(*up) == pytest.approx(1.0, abs=1e-12)
    assert np.arccos(np.clip(up @ expected, -1, 1)) < np.deg2rad(2.0)


def test_missing_joints_do_not_vote(upright):
    X = upright.copy()
    X[:, :, 15:17, :2] = [[5000.0, -9000.0]]  # ankles far off, but marked missing
    X[:, :, 15:17, 2] = 0.0
    up = estimate_up(prepare_segments(X, normalize=True), X[..., 2] > 0, COCO17)
    assert np.arccos(np.clip(up @ np.array(IMAGE_UP), -1, 1)) < np.deg2rad(2.0)


def test_canonical_rotation_turns_up_to_image_up():
    np.testing.assert_array_equal(canonical_rotation(np.array(IMAGE_UP)), np.eye(2))
    for angle in np.linspace(-np.pi, np.pi, 13):
        up = np.array([np.cos(angle), np.sin(angle)])
        rot = canonical_rotation(up)
        np.testing.assert_allclose(rot @ up, IMAGE_UP, atol=4 * np.finfo(float).eps)
        np.testing.assert_allclose(rot @ rot.T, np.eye(2), atol=4 * np.finfo(float).eps)
        assert np.linalg.det(rot) == pytest.approx(1.0)  # a turn, never a mirror


# --------------------------------------------------------- canonical segments
@pytest.mark.parametrize("degrees", [37.0, 90.0, -150.0])
def test_turned_poses_give_the_same_canonical_segments(upright, degrees):
    ref, _ = _canonical(upright)
    got, _ = _canonical(_turn(upright, degrees))
    # float32 round-off: the turned input (1 rounding), its preparation (1), the
    # estimate's angle (a few float32 roundings averaged) and the turn (2 products
    # and a sum), each at most eps32 relative to the largest coordinate: 8 eps32.
    scale = float(np.abs(ref).max())
    np.testing.assert_allclose(got, ref, rtol=0, atol=8 * EPS32 * scale)


def test_a_mirrored_segment_of_a_turned_dataset_is_a_left_right_mirror(upright):
    X = _quarter_turn(upright)  # people lying along x, as PoseLift stores them
    turned = prepare_segments(X, normalize=True)
    head, feet = [0, 1, 2, 3, 4], [15, 16]
    # the mirror of the stored coordinates turns people upside down along x ...
    flipped = mirror_segments(turned, COCO17, normalized=True)
    along_x = turned[:, 0][..., head].mean(-1) - turned[:, 0][..., feet].mean(-1)
    along_x_m = flipped[:, 0][..., head].mean(-1) - flipped[:, 0][..., feet].mean(-1)
    assert (np.sign(along_x) == -np.sign(along_x_m)).all()
    # ... while in the canonical frame the mirror keeps the head up and swaps left and right
    canon, _ = _canonical(X)
    mirrored = mirror_segments(canon, COCO17, normalized=True)
    rise = canon[:, 1][..., feet].mean(-1) - canon[:, 1][..., head].mean(-1)
    rise_m = mirrored[:, 1][..., feet].mean(-1) - mirrored[:, 1][..., head].mean(-1)
    assert (rise > 0).all() and (rise_m > 0).all()  # head above feet (y grows downwards)
    np.testing.assert_array_equal(mirrored[:, 1], canon[:, 1][..., COCO17.flip_index()])
    np.testing.assert_array_equal(mirrored[:, 0], -canon[:, 0][..., COCO17.flip_index()])


def test_rotate_segments_keeps_dtype_and_identity_is_a_no_op(upright):
    data = prepare_segments(upright, normalize=True)
    assert rotate_segments(data, np.eye(2)) is data
    out = rotate_segments(data, canonical_rotation(np.array([1.0, 0.0])))
    assert out.dtype == np.float32 and out.shape == data.shape
    np.testing.assert_array_equal(out[:, 0], data[:, 1])  # (x, y) -> (y, -x)
    np.testing.assert_array_equal(out[:, 1], -data[:, 0])


# ----------------------------------------------------------------- detector
@pytest.mark.parametrize("turn", [_quarter_turn, lambda X: _turn(X, 180.0)],
                         ids=["90", "180"])  # fmt: skip
def test_scores_do_not_change_when_train_and_test_poses_are_turned(upright, turn):
    test = walking_segments(24, T, seed=5)
    ref = tiny_detector().fit(upright)
    np.testing.assert_allclose(ref.up_direction_, IMAGE_UP, atol=np.sin(np.deg2rad(2.0)))
    det = tiny_detector().fit(turn(upright))
    # quarter and half turns are exact in floating point: the canonical segments are
    # those of the upright poses up to the float64 round-off of the normalization's
    # sums, far below float32's resolution, so training sees the same float32 input;
    # the tolerance allows one float32 rounding of each score
    np.testing.assert_allclose(turn(ref.up_direction_[None, None, None])[0, 0, 0],
                               det.up_direction_, atol=1e-12)  # fmt: skip
    s_ref = ref.decision_function(test)
    np.testing.assert_allclose(det.decision_function(turn(test)), s_ref, rtol=EPS32, atol=0)


def test_any_turn_of_camera_and_frame_together_keeps_the_scores(upright):
    """The scoring path at an angle that is not exact: same flow, poses and frame turned."""
    test = walking_segments(24, T, seed=5)
    det = tiny_detector().fit(upright)
    s_ref = det.decision_function(test)
    a = np.deg2rad(37.0)
    det.up_direction_ = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ (
        det.up_direction_
    )
    # the canonical segments agree to 8 eps32 of their size (test above); as for the
    # translation and scale invariance of the normalization (test_estimator), that
    # round-off carried through the flow and the per-joint standardisation stays
    # within 1e-4
    np.testing.assert_allclose(det.decision_function(_turn(test, 37.0)), s_ref,
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    # while the same turned poses in the detector's fitted frame are abnormal
    det.up_direction_ = np.array(IMAGE_UP)
    assert det.decision_function(_turn(test, 90.0)).min() > s_ref.max()


def test_up_direction_is_saved_and_old_detectors_keep_their_frame(upright, tmp_path):
    det = tiny_detector().fit(_quarter_turn(upright))
    det.save(tmp_path / "m.dsnf")
    back = DSNFDetector.load(tmp_path / "m.dsnf")
    np.testing.assert_array_equal(back.up_direction_, det.up_direction_)
    test = _quarter_turn(walking_segments(8, T, seed=3))
    np.testing.assert_array_equal(back.decision_function(test), det.decision_function(test))
    # a detector pickled before the orientation existed has no up_direction_: no turn
    del det.up_direction_
    np.testing.assert_array_equal(detector_rotation(det), np.eye(2))
    det.save(tmp_path / "old.dsnf")  # and saves as such
    np.testing.assert_array_equal(DSNFDetector.load(tmp_path / "old.dsnf").up_direction_, IMAGE_UP)


def test_renders_draw_people_filmed_sideways_upright():
    pytest.importorskip("matplotlib")
    import dataclasses

    from pyod_dsnf.datasets import make_pose_tracks
    from pyod_dsnf.evaluation.render import alert_data
    from pyod_dsnf.poses import Clip, fill_gaps, segment_tracks

    def sideways(clip: Clip) -> Clip:
        tracks = [dataclasses.replace(t, keypoints=_quarter_turn(t.keypoints)) for t in clip.tracks]
        return Clip(clip.clip_id, tracks, clip.path)

    ds = make_pose_tracks(2, 1, n_frames=(80, 100), random_state=0)
    train, _ = fill_gaps([sideways(c) for c in ds.train])
    det = tiny_detector().fit(segment_tracks(train, seg_len=T, stride=4).X)
    assert abs(det.up_direction_[0]) > 0.99  # the stored people lie along x
    clip = sideways(ds.test[0])
    person = max(fill_gaps(clip)[0].tracks, key=len).person
    kp = alert_data(det, clip, person).keypoints
    head, feet = kp[:, :5, 1].mean(axis=1), kp[:, 15:, 1].mean(axis=1)
    assert (head < feet).all()  # drawn upright: the head above the feet, y grows downwards


def test_segments_prepared_as_torch_tensors_turn_as_numpy_ones(upright):
    """The GPU scoring path prepares segments as tensors; they are turned the same way."""
    import torch

    data = prepare_segments(upright, normalize=True)
    rotation = canonical_rotation(np.array([np.cos(0.7), np.sin(0.7)]))
    got = rotate_segments(torch.from_numpy(data), rotation)
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), rotate_segments(data, rotation))


def test_the_file_format_default_is_image_up():
    from pyod_dsnf.detector.persistence import UP_BEFORE_ORIENTATION

    assert UP_BEFORE_ORIENTATION == IMAGE_UP  # the two modules may not import each other
