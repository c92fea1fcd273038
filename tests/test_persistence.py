"""Tests of save/load: round trips, refusal of tampered, foreign and newer files."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from pyod_dsnf import DSNFDetector, SkeletonGraph
from pyod_dsnf.detector.persistence import FORMAT, FORMAT_VERSION, _checksum
from tests._skeletons import walking_segments

T = 8


# Tiny models run several times faster on one thread than on two contended ones.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return walking_segments(40, T, seed=0)


@pytest.fixture(scope="module")
def fitted(X) -> DSNFDetector:
    return DSNFDetector(
        n_flow_steps=2, hidden_channels=4, epochs=2, batch_size=16, random_state=0,
        permutation="invconv", learn_curvature=True, device="cpu",
    ).fit(X)  # fmt: skip


def test_save_load_round_trip(fitted, X, tmp_path):
    path = tmp_path / "model.dsnf"
    fitted.save(path)
    loaded = DSNFDetector.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X[:6]), fitted.decision_function(X[:6]))
    np.testing.assert_array_equal(loaded.predict(X[:6]), fitted.predict(X[:6]))
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.decision_scores_, fitted.decision_scores_)
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.input_shape_ == fitted.input_shape_
    assert loaded.history_ == fitted.history_
    assert loaded.curvature_ == pytest.approx(fitted.curvature_)
    assert loaded.n_epochs_ == fitted.n_epochs_ and loaded.device_ == "cpu"
    assert not loaded.model_.training
    np.testing.assert_allclose(loaded.predict_proba(X[:3]), fitted.predict_proba(X[:3]))


def test_save_overwrites_atomically_and_leaves_no_temp_file(fitted, tmp_path):
    path = tmp_path / "model.dsnf"
    path.write_bytes(b"old")
    fitted.save(path)
    assert os.listdir(tmp_path) == ["model.dsnf"]
    assert DSNFDetector.load(path).n_features_in_ == fitted.n_features_in_


def test_custom_layout_round_trip(X, tmp_path):
    graph = SkeletonGraph(name="arms", n_joints=5, edges=((0, 1), (1, 2), (0, 3), (3, 4)),
                          center=(0,), flip_pairs=((1, 3), (2, 4)))  # fmt: skip
    Xa = X[:, :, [5, 7, 9, 6, 8]]
    det = DSNFDetector(layout=graph, n_flow_steps=2, hidden_channels=4, epochs=1,
                       random_state=0, device="cpu").fit(Xa)  # fmt: skip
    det.save(tmp_path / "arms.dsnf")
    loaded = DSNFDetector.load(tmp_path / "arms.dsnf")
    assert loaded.layout == graph
    np.testing.assert_array_equal(loaded.decision_function(Xa[:4]), det.decision_function(Xa[:4]))


def test_loading_never_runs_code_from_the_file(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.dsnf"
    torch.save({"format": FORMAT, "format_version": 1, "params": Payload()}, path)
    with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
        DSNFDetector.load(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps(Payload(), protocol=2))
    with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
        DSNFDetector.load(path)
    assert not marker.exists()


def _tamper(src, dst, **changes):
    """Edit fields and re-sign the file, as a deliberate (not accidental) edit would."""
    payload = torch.load(src, weights_only=True)
    payload.update(changes)
    payload["checksum"] = _checksum(payload)
    torch.save(payload, dst)


def test_refuses_newer_foreign_truncated_and_mismatched_files(fitted, tmp_path):
    good = tmp_path / "good.dsnf"
    fitted.save(good)
    newer = tmp_path / "newer.dsnf"
    _tamper(good, newer, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="upgrade pyod-dsnf"):
        DSNFDetector.load(newer)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="format marker"):
        DSNFDetector.load(foreign)
    truncated = tmp_path / "truncated.dsnf"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable"):
        DSNFDetector.load(truncated)
    payload = torch.load(good, weights_only=True)
    state = dict(payload["state_dict"])
    state.pop(next(iter(state)))
    mismatched = tmp_path / "mismatched.dsnf"
    _tamper(good, mismatched, state_dict=state)
    with pytest.raises(ValueError, match="do not match its parameters"):
        DSNFDetector.load(mismatched)
    with pytest.raises(FileNotFoundError):
        DSNFDetector.load(tmp_path / "missing.dsnf")


def test_save_needs_a_fitted_detector_and_json_parameters(fitted, tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DSNFDetector().save(tmp_path / "x.dsnf")
    odd = pickle.loads(pickle.dumps(fitted))
    odd.random_state = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"random_state=.* is not a plain number"):
        odd.save(tmp_path / "x.dsnf")
    assert not (tmp_path / "x.dsnf").exists()
