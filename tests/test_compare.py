"""run_method: every method on the same segments; +inf scores rank as most abnormal."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.compare import _rank_safe, all_methods, run_method
from tests._skeletons import walking_segments


def test_run_method_pyod_and_random():
    X = walking_segments(40, 8, seed=0)
    for method in ("iforest", "random"):
        run = run_method(method, X, [X[:5], X[5:9]], random_state=0)
        assert [len(s) for s in run.scores] == [5, 4] and run.n_scored == 9
        assert run.fit_seconds >= 0 and run.throughput > 0


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        run_method("svm", np.zeros((2, 8, 17, 2)), [])
    assert "dsnf-noawam" in all_methods() and "random" in all_methods()


def test_infinite_scores_rank_highest_with_a_warning():
    with pytest.warns(UserWarning, match="1 segment score"):
        s = _rank_safe("m", np.array([0.5, np.inf, 2.0]))
    np.testing.assert_array_equal(s, [0.5, 3.0, 2.0])
    with pytest.raises(FloatingPointError):
        _rank_safe("m", np.array([0.5, np.nan]))


def test_dsnf_and_dsnf_nll_share_one_fit():
    X = walking_segments(40, 8, seed=0)
    params = {"epochs": 1, "n_flow_steps": 2, "hidden_channels": 2, "space": "euclidean"}
    cache: dict = {}
    joint = run_method("dsnf", X, [X[:6]], dsnf_params=params, fitted=cache)
    nll = run_method("dsnf-nll", X, [X[:6]], dsnf_params=params, fitted=cache)
    assert len(cache) == 1 and nll.fit_seconds == joint.fit_seconds
    assert joint.params["anomaly_score"] == "joint" and nll.params["anomaly_score"] == "nll"
    (det, _), = cache.values()
    np.testing.assert_allclose(nll.scores[0], -det.score_samples(X[:6]))
    np.testing.assert_allclose(joint.scores[0], det.decision_function(X[:6]))
    alone = run_method("dsnf-nll", X, [X[:6]], dsnf_params=params)  # no cache: its own fit
    np.testing.assert_allclose(alone.scores[0], nll.scores[0], rtol=1e-6)
