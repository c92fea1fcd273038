"""Numerical stress and degenerate statistics: finite scores or FloatingPointError.

Curvature from 1e-4 to 1e3 (fixed and learnable), long training at high learning
rates, zero-variance segments, a training set of one repeated pose, a far-away
test segment. The measured stable ranges are in docs/guarantees.md
(``python benchmarks/bench_stress.py``).
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pytest

from pyod_dsnf import DSNFDetector
from tests._skeletons import tiny_detector, walking_segments

T = 8


tiny = partial(tiny_detector, n_threads=1, epochs=3)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return walking_segments(64, T, seed=0)


@pytest.fixture(scope="module")
def X_test() -> np.ndarray:
    """16 normal segments, then one segment far outside the training range (last)."""
    far = walking_segments(1, T, seed=9)
    far[..., :2] += np.random.default_rng(1).normal(0.0, 80.0, far[..., :2].shape)
    return np.concatenate([walking_segments(16, T, seed=5), far])


def _finite_and_far_ranked_top(det: DSNFDetector, X_test: np.ndarray) -> None:
    scores = det.decision_function(X_test)
    assert np.isfinite(scores).all() and np.isfinite(det.decision_scores_).all()
    assert int(np.argmax(scores)) == len(X_test) - 1


@pytest.mark.parametrize("curvature", [1e-4, 1e3])
@pytest.mark.parametrize("learn", [False, True])
def test_extreme_curvatures_stay_finite(X, X_test, curvature, learn):
    det = tiny(curvature=curvature, learn_curvature=learn).fit(X)
    _finite_and_far_ranked_top(det, X_test)
    assert np.isfinite(det.curvature_) and det.curvature_ > 0


@pytest.mark.slow
@pytest.mark.parametrize("curvature", [1e-2, 1.0, 1e2])
@pytest.mark.parametrize("space", ["dual", "hyperbolic"])
def test_curvature_grid_learnable(X, X_test, curvature, space):
    det = tiny(curvature=curvature, learn_curvature=True, space=space).fit(X)
    _finite_and_far_ranked_top(det, X_test)


def test_divergent_learning_rate_raises_floating_point_error_with_remedy(X):
    with pytest.raises(FloatingPointError, match=r"lr=100\.0.*; lower lr") as info:
        tiny(lr=100.0, epochs=5, n_iter_no_change=None).fit(X)
    assert "training loss became nan" in str(info.value) or "gradient norm" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize(("lr", "curvature"), [(0.1, 1.0), (1.0, 1.0), (1.0, 1e3), (10.0, 1.0)])
def test_long_training_at_high_lr_is_finite_or_stops_clearly(X, X_test, lr, curvature):
    det = tiny(lr=lr, curvature=curvature, learn_curvature=True, epochs=12, n_iter_no_change=None)
    try:
        det.fit(X)
    except FloatingPointError as exc:
        assert "lower lr" in str(exc) and f"lr={lr}" in str(exc)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = det.decision_function(X_test)
    assert not np.isnan(scores).any()
    assert len(det.history_["train_loss"]) == 12
    assert np.isfinite(det.history_["train_loss"]).all()


# ----------------------------------------------------------- degenerate statistics
def test_zero_variance_segments_score_finite(X):
    det = tiny().fit(X)
    flat = np.full((3, T, 17, 3), 250.0)  # every joint at one point, confidence 250 (> 0)
    point_in_time = np.repeat(X[:3, :1], T, axis=1)  # one frozen pose: no motion at all
    assert np.isfinite(det.decision_function(flat)).all()
    assert np.isfinite(det.decision_function(point_in_time)).all()


def test_training_with_many_zero_variance_segments(X, X_test):
    mixed = np.concatenate([X[:32], np.full_like(X[:32], 5.0)])
    _finite_and_far_ranked_top(tiny().fit(mixed), X_test)


def test_training_set_of_one_repeated_pose(X, X_test):
    pose = np.repeat(np.repeat(X[:1, :1], T, axis=1), 64, axis=0)
    det = tiny(epochs=10).fit(pose)
    _finite_and_far_ranked_top(det, np.concatenate([pose[:2], X_test]))


def test_training_set_of_one_repeated_segment(X, X_test):
    det = tiny(epochs=10).fit(np.repeat(X[:1], 64, axis=0))
    _finite_and_far_ranked_top(det, X_test)


@pytest.mark.slow
def test_far_segment_ranked_most_abnormal_at_default_size(X, X_test):
    det = DSNFDetector(epochs=3, random_state=0, n_threads=1, device="cpu").fit(X)
    _finite_and_far_ranked_top(det, X_test)
