"""The GPU path: CUDA fits score the same on the CPU and back, the CUDA RNG is left as found.

Every test here needs CUDA and is skipped without it; ``benchmarks/gpu_check.sh``
runs them on a GPU machine. Tolerance: 1e-5 (float32 on two devices; TF32 is
off while scoring, see ``pyod_dsnf.detector._device.exact_float32``).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from pyod_dsnf import DSNFDetector
from tests._skeletons import tiny_detector, walking_segments

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    pytest.mark.usefixtures("one_torch_thread"),
]
T = 8
TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return walking_segments(64, T, seed=0)


@pytest.fixture(scope="module")
def X_test() -> np.ndarray:
    return walking_segments(40, T, seed=1)


def _close(a: np.ndarray, b: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(a, b, **TOL, err_msg=f"{what}: max |diff| {np.abs(a - b).max():.3g}")


def test_fit_on_cuda_score_on_cpu(X, X_test, tmp_path):
    gpu = tiny_detector(device="cuda").fit(X)
    assert gpu.device_.startswith("cuda") and next(gpu.model_.parameters()).is_cuda
    on_gpu_joint, on_gpu = gpu.joint_nll(X_test), gpu.decision_function(X_test)
    gpu.save(tmp_path / "gpu.dsnf")
    cpu = DSNFDetector.load(tmp_path / "gpu.dsnf", device="cpu")
    _close(cpu.joint_nll(X_test), on_gpu_joint, "per-joint NLL")
    _close(cpu.decision_function(X_test), on_gpu, "scores")
    _close(cpu.decision_function(X), gpu.decision_scores_, "training scores")
    # pickled (weights moved to the CPU) and scored here: back on the fitted device
    twin = pickle.loads(pickle.dumps(gpu))
    _close(twin.decision_function(X_test), on_gpu, "pickled")


def test_fit_on_cpu_score_on_cuda(X, X_test, tmp_path):
    cpu = tiny_detector(device="cpu").fit(X)
    cpu.save(tmp_path / "cpu.dsnf")
    gpu = DSNFDetector.load(tmp_path / "cpu.dsnf", device="cuda")
    assert gpu.device_.startswith("cuda")
    _close(gpu.joint_nll(X_test), cpu.joint_nll(X_test), "per-joint NLL")
    _close(gpu.decision_function(X_test), cpu.decision_function(X_test), "scores")
    assert gpu.threshold_ == cpu.threshold_


def test_cuda_and_cpu_rng_states_are_restored_after_fit_and_load(X, tmp_path):
    torch.cuda.init()
    cuda_before = [s.clone() for s in torch.cuda.get_rng_state_all()]
    cpu_before = torch.random.get_rng_state()
    det = tiny_detector(device="cuda", epochs=1).fit(X)
    det.save(tmp_path / "m.dsnf")
    DSNFDetector.load(tmp_path / "m.dsnf", device="cuda")
    after = torch.cuda.get_rng_state_all()
    assert all(torch.equal(a, b) for a, b in zip(after, cuda_before, strict=True))
    assert torch.equal(torch.random.get_rng_state(), cpu_before)


def test_same_random_state_same_scores_on_cuda(X):
    a = tiny_detector(device="cuda", epochs=1).fit(X).decision_scores_
    b = tiny_detector(device="cuda", epochs=1).fit(X).decision_scores_
    _close(a, b, "two fits")


def test_chunked_scoring_on_cuda(X, X_test, monkeypatch):
    import pyod_dsnf.detector.scoring as scoring

    det = tiny_detector(device="cuda", epochs=1).fit(X)
    whole = det.decision_function(X_test)
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 7)
    det.set_params(batch_size=5)
    _close(det.decision_function(X_test), whole, "chunked")
