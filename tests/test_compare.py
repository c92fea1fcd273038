"""run_method: every method on the same segments; dsnf and dsnf-nll share a fit."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.experiments.compare import all_methods, run_method
from tests._skeletons import walking_segments


def test_run_method_pyod_and_random():
    X = walking_segments(40, 8, seed=0)
    for method in ("iforest", "random"):
        run = run_method(method, X, [X[:5], X[5:9]], random_state=0)
        assert [len(s) for s in run.scores] == [5, 4] and run.n_scored == 9


def test_fit_and_score_seconds_time_the_fit_and_the_scoring():
    clock = iter([10.0, 12.5, 13.0, 13.75])  # fit start, fit end, scoring start, scoring end
    X = walking_segments(20, 8, seed=0)
    run = run_method("random", X, [X[:5], X[5:9]], random_state=0, clock=lambda: next(clock))
    assert run.fit_seconds == 2.5 and run.score_seconds == 0.75 and run.throughput == 12.0
    assert next(clock, None) is None  # the documented four reads, no more


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        run_method("svm", np.zeros((2, 8, 17, 2)), [])
    assert "dsnf-noawam" in all_methods() and "random" in all_methods()


def test_dsnf_and_dsnf_nll_share_one_fit():
    X = walking_segments(40, 8, seed=0)
    params = {"epochs": 1, "n_flow_steps": 2, "hidden_channels": 2, "space": "euclidean",
              "device": "cpu"}  # fmt: skip
    cache: dict = {}
    joint = run_method("dsnf", X, [X[:6]], dsnf_params=params, fitted=cache)
    nll = run_method("dsnf-nll", X, [X[:6]], dsnf_params=params, fitted=cache)
    assert len(cache) == 1 and nll.fit_seconds == joint.fit_seconds
    assert joint.params["anomaly_score"] == "joint" and nll.params["anomaly_score"] == "nll"
    ((det, _),) = cache.values()
    np.testing.assert_allclose(nll.scores[0], -det.score_samples(X[:6]))
    np.testing.assert_allclose(joint.scores[0], det.decision_function(X[:6]))
    alone = run_method("dsnf-nll", X, [X[:6]], dsnf_params=params)  # no cache: its own fit
    np.testing.assert_allclose(alone.scores[0], nll.scores[0], rtol=1e-6)
