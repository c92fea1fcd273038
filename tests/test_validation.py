"""Tests of the input rules: shapes, the missing-joint rule, imputation, normalization, mirrors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyod_dsnf.detector._validation import (
    SCALE_FLOOR,
    check_segments,
    mirror_segments,
    prepare_segments,
)
from pyod_dsnf.poses.skeletons import COCO17, OPENPOSE18
from tests._skeletons import walking_segments


def test_check_segments_shapes_and_flattening():
    X = walking_segments(5, 6, seed=0)
    out = check_segments(X, COCO17, flat_channels=2)
    assert out.shape == (5, 6, 17, 3) and out.dtype == X.dtype == np.float64
    flat = check_segments(X.reshape(5, -1), COCO17, flat_channels=3)
    np.testing.assert_array_equal(flat, X)
    # the same width read with C = 2 gives more frames: the documented rule
    assert check_segments(X.reshape(5, -1), COCO17, flat_channels=2).shape == (5, 9, 17, 2)
    after_fit = check_segments(X.reshape(5, -1), COCO17, flat_channels=2, input_shape=(6, 17, 3))
    np.testing.assert_array_equal(after_fit, X)
    np.testing.assert_array_equal(check_segments(torch.from_numpy(X), COCO17, flat_channels=2), X)
    assert check_segments(X.tolist(), COCO17, flat_channels=2).shape == X.shape


def test_one_dtype_from_input_to_flow():
    """float32 stays float32 (no copy), float64 stays float64, other numbers become float32."""
    X = walking_segments(4, 6, seed=0)
    X32 = X.astype(np.float32)
    assert check_segments(X32, COCO17, flat_channels=2) is X32
    assert check_segments(X, COCO17, flat_channels=2) is X
    for dtype in (np.float16, np.int32, np.int64):
        assert check_segments(X.astype(dtype), COCO17, flat_channels=2).dtype == np.float32
    assert check_segments(torch.from_numpy(X32), COCO17, flat_channels=2).dtype == np.float32
    # the preparation is exact: float32 input gives the float32 rounding of the float64 result
    np.testing.assert_array_equal(
        prepare_segments(X32, normalize=True),
        prepare_segments(X32.astype(np.float64), normalize=True),
    )


def test_one_layout_change_and_normalize_segments_is_the_flow_input():
    from pyod_dsnf import normalize_segments

    X = walking_segments(3, 6, seed=5).astype(np.float32)
    flow_input = prepare_segments(X, normalize=True)
    assert flow_input.shape == (3, 2, 6, 17) and flow_input.flags.c_contiguous
    out = normalize_segments(X)
    assert out.shape == (3, 6, 17, 2) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, flow_input.transpose(0, 2, 3, 1))


def test_check_segments_errors_name_what_came():
    X = walking_segments(3, 6, seed=0)
    with pytest.raises(ValueError, match=r"18 joints .* use layout='openpose18'"):
        check_segments(np.zeros((3, 6, 18, 2)), COCO17, flat_channels=2)
    with pytest.raises(ValueError, match=r"17 joints .* use layout='coco17'"):
        check_segments(X, OPENPOSE18, flat_channels=2)
    with pytest.raises(ValueError, match="X must hold real numbers: Complex data not supported"):
        check_segments(X.astype(complex), COCO17, flat_channels=2)
    with pytest.raises(ValueError, match="complex tensor"):
        check_segments(torch.zeros(3, 6, 17, 2, dtype=torch.complex64), COCO17, flat_channels=2)
    with pytest.raises(ValueError, match="0 sample"):
        check_segments(np.zeros((0, 6, 17, 2)), COCO17, flat_channels=2)


def test_prepare_without_missing_joints_centres_and_scales():
    X = walking_segments(4, 6, seed=1)
    out = prepare_segments(X, normalize=True)
    assert out.shape == (4, 2, 6, 17) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.sqrt((out**2).mean(axis=(1, 2, 3))), 1.0, rtol=1e-5)
    raw = prepare_segments(X, normalize=False)
    np.testing.assert_allclose(raw, X[..., :2].transpose(0, 3, 1, 2), rtol=1e-6)


def test_prepare_is_translation_and_scale_invariant():
    X = walking_segments(3, 6, seed=2)
    moved = X.copy()
    moved[..., :2] = 0.01 * moved[..., :2] + np.array([5e3, -2e3])
    np.testing.assert_allclose(
        prepare_segments(moved, normalize=True), prepare_segments(X, normalize=True), atol=1e-4
    )


def test_missing_joints_are_interpolated_in_time():
    X = np.zeros((1, 5, 17, 3))
    X[..., 2] = 1.0
    X[0, :, 0, 0] = [0.0, 10.0, 20.0, 30.0, 40.0]
    X[0, :, 1, 0] = [1.0, 2.0, 3.0, 4.0, 5.0]  # gives the segment some spread
    X[0, 1:4, 0, :2] = np.nan
    X[0, 1:4, 0, 2] = 0.0  # frames 1-3 of joint 0 are missing
    X[0, 4, 1, 2] = 0.0  # last frame of joint 1 missing: held constant
    X[0, :, 2, :2] = np.nan
    X[0, :, 2, 2] = 0.0  # joint 2 missing throughout: takes the centre
    out = prepare_segments(X, normalize=False)
    np.testing.assert_allclose(out[0, 0, :, 0], [0, 10, 20, 30, 40])
    np.testing.assert_allclose(out[0, 0, :, 1], [1, 2, 3, 4, 4])
    valid = X[0, ..., 2] > 0
    centre_x = X[0, ..., 0][valid].mean()
    np.testing.assert_allclose(out[0, 0, :, 2], centre_x, rtol=1e-6)
    assert np.isfinite(out).all()


def test_zero_variance_segment_stays_finite():
    X = np.ones((2, 4, 17, 2)) * 7.0
    out = prepare_segments(X, normalize=True)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, 0.0)
    assert SCALE_FLOOR > 0


@pytest.mark.parametrize("normalized", [True, False])
def test_mirror_swaps_left_and_right(normalized):
    X = walking_segments(3, 6, seed=3)
    data = prepare_segments(X, normalize=normalized)
    mirrored = mirror_segments(data, COCO17, normalized=normalized)
    left_wrist, right_wrist = 9, 10
    # y is kept, the right wrist of the mirror is where the left wrist was
    np.testing.assert_allclose(mirrored[:, 1, :, right_wrist], data[:, 1, :, left_wrist])
    if normalized:
        np.testing.assert_allclose(mirrored[:, 0, :, right_wrist], -data[:, 0, :, left_wrist])
    else:
        # reflected about the segment's mean x, which the mirror keeps
        np.testing.assert_allclose(
            mirrored[:, 0].mean(axis=(1, 2)), data[:, 0].mean(axis=(1, 2)), rtol=1e-5
        )
    np.testing.assert_allclose(
        mirror_segments(mirrored, COCO17, normalized=normalized), data, rtol=1e-5, atol=1e-3
    )


def test_normalize_segments_matches_the_detector_input():
    from pyod_dsnf import normalize_segments

    X = walking_segments(3, 6, seed=4)
    out = normalize_segments(X)
    assert out.shape == (3, 6, 17, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out.transpose(0, 3, 1, 2), prepare_segments(X, normalize=True))
    with pytest.raises(ValueError, match="must be 4-D"):
        normalize_segments(X.reshape(3, -1))


def test_blocked_preparation_equals_one_pass_and_counts_errors_over_all_of_x():
    from pyod_dsnf.detector._validation import PREP_BLOCK, _prepared_xy

    rng = np.random.default_rng(5)
    n = 2 * PREP_BLOCK + 3
    X = rng.normal(300.0, 40.0, size=(n, 6, 17, 3)).astype(np.float32)
    X[..., 2] = rng.uniform(0.1, 1.0, size=X.shape[:3])
    X[PREP_BLOCK + 1, 2, 3, 2] = 0.0  # one missing joint in the second block
    for normalize in (True, False):
        one_pass = _prepared_xy(X, normalize=normalize, name="X", offset=0)
        expected = np.ascontiguousarray(one_pass.transpose(0, 3, 1, 2), dtype=np.float32)
        np.testing.assert_array_equal(prepare_segments(X, normalize=normalize), expected)
    X[PREP_BLOCK + 2, 1, 4, 0] = np.nan  # second block
    X[n - 1, 0, 0, 1] = np.inf  # third block: counted too
    with pytest.raises(ValueError, match=rf"in 2 joint\(s\) \(first at segment {PREP_BLOCK + 9}"):
        prepare_segments(X, normalize=True, offset=7)
