"""The one per-joint z-score, against values worked out by hand and by the statistics module."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from pyod_dsnf.detector.standardizer import STD_FLOOR, JointStandardizer

JOINT = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]])


def test_fit_is_the_population_mean_and_standard_deviation_of_each_joint():
    std = JointStandardizer.fit(JOINT)
    for v in range(2):
        column = JOINT[:, v].tolist()
        assert std.mean[v] == pytest.approx(statistics.fmean(column), rel=1e-15)
        assert std.std[v] == pytest.approx(statistics.pstdev(column), rel=1e-15)


def test_transform_gives_the_hand_computed_z_scores():
    z = JointStandardizer.fit(JOINT).transform(JOINT)
    # mean (2, 3); std (sqrt(2/3), sqrt(2))
    expected = [
        [-1 / math.sqrt(2 / 3), -1 / math.sqrt(2)],
        [1 / math.sqrt(2 / 3), -1 / math.sqrt(2)],
        [0.0, 2 / math.sqrt(2)],
    ]
    np.testing.assert_allclose(z, expected, rtol=1e-14, atol=1e-15)


def test_scores_nll_is_the_row_sum_and_joint_the_largest_z():
    std = JointStandardizer.fit(JOINT)
    np.testing.assert_array_equal(std.scores(JOINT, "nll"), [3.0, 5.0, 7.0])
    np.testing.assert_allclose(std.scores(JOINT, "joint"),
                               [-1 / math.sqrt(2), 1 / math.sqrt(2 / 3), math.sqrt(2)],
                               rtol=1e-14)  # fmt: skip
    with pytest.raises(ValueError, match="anomaly_score must be one of"):
        std.scores(JOINT, "max")


def test_infinite_share_is_plus_infinity_and_a_constant_joint_is_floored():
    std = JointStandardizer.fit(np.ones((4, 3)))
    np.testing.assert_array_equal(std.std, [STD_FLOOR] * 3)
    shares = np.array([[1.0, np.inf, 1.0], [1.0, 1.0, 1.0 + 1e-12]])
    z = std.transform(shares)
    assert z[0, 1] == np.inf and not np.isnan(z).any()
    assert z[1, 2] == pytest.approx(1.0, rel=1e-3)  # 1e-12 over the 1e-12 floor
    np.testing.assert_array_equal(std.scores(shares, "joint")[:1], [np.inf])


def test_of_reads_a_fitted_detectors_statistics():
    class Fitted:
        joint_nll_mean_ = (2.0, 3.0)
        joint_nll_std_ = (0.5, 2.0)

    z = JointStandardizer.of(Fitted()).transform([[3.0, 3.0]])
    np.testing.assert_array_equal(z, [[2.0, 0.0]])


def test_fit_refuses_an_empty_or_flat_input():
    with pytest.raises(ValueError, match=r"joint must have shape \(n_segments >= 1, V\)"):
        JointStandardizer.fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="joint must have shape"):
        JointStandardizer.fit(np.zeros(3))
