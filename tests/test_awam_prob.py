"""awam_prob is a parameter: in the table, saved, cloneable, grid-searchable, and used by fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import pyod_dsnf.detector.persistence as persistence
from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._params import PARAMETER_CONSTRAINTS
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_default_is_the_share_used_before_and_clone_keeps_it():
    assert DSNFDetector().awam_prob == 0.25
    det = DSNFDetector(awam_prob=0.5)
    assert det.get_params()["awam_prob"] == 0.5 and clone(det).awam_prob == 0.5
    assert "awam_prob" in PARAMETER_CONSTRAINTS


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan"), "half", True])
def test_bad_values_raise_naming_the_parameter(bad):
    X = walking_segments(8, 8, seed=0)
    with pytest.raises(ValueError, match=r"awam_prob must be a finite number > 0.0 and <= 1.0"):
        tiny_detector(epochs=1, awam_prob=bad).fit(X)


def test_the_parameter_reaches_training_and_changes_the_fit():
    X = walking_segments(32, 8, seed=0)
    kw = {"epochs": 2, "awam_lambda": 0.5, "random_state": 0, "validation_fraction": 0.0}
    a = tiny_detector(awam_prob=1.0, **kw).fit(X).decision_scores_
    again = tiny_detector(awam_prob=1.0, **kw).fit(X).decision_scores_
    b = tiny_detector(awam_prob=0.25, **kw).fit(X).decision_scores_
    np.testing.assert_array_equal(a, again)
    assert not np.allclose(a, b)


def test_saved_and_loaded(tmp_path):
    X = walking_segments(16, 8, seed=0)
    det = tiny_detector(epochs=1, awam_prob=0.5, random_state=0).fit(X)
    det.save(tmp_path / "m.dsnf")
    assert DSNFDetector.load(tmp_path / "m.dsnf").awam_prob == 0.5


def test_files_written_before_the_parameter_load_with_0_25(tmp_path):
    X = walking_segments(16, 8, seed=0)
    det = tiny_detector(epochs=1, awam_prob=1.0, random_state=0).fit(X)
    det.save(tmp_path / "m.dsnf")
    payload = torch.load(tmp_path / "m.dsnf", weights_only=True)
    params = json.loads(payload["params"])
    del params["awam_prob"]
    payload["params"] = json.dumps(params)
    payload["checksum"] = persistence._checksum(payload)
    torch.save(payload, tmp_path / "old.dsnf")
    assert DSNFDetector.load(tmp_path / "old.dsnf").awam_prob == 0.25


def test_grid_search_over_awam_prob():
    X = walking_segments(24, 8, seed=1)
    search = GridSearchCV(tiny_detector(epochs=1, random_state=0),
                          {"awam_prob": [0.5, 1.0]}, cv=2)  # fmt: skip
    search.fit(X)
    assert [p["awam_prob"] for p in search.cv_results_["params"]] == [0.5, 1.0]
    assert search.best_params_["awam_prob"] in (0.5, 1.0)
