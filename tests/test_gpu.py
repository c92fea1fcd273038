"""The GPU path: CUDA and CPU scores of one model agree, devices and settings are respected.

Every test here needs CUDA and is skipped without it; ``benchmarks/gpu_check.sh``
runs them on a GPU machine (and fails there if CUDA is missing). Tolerance: a
device's float32 scores must be as close to a float64 evaluation of the same
weights as the CPU's float32 scores are, up to a factor for another summation
order (``tests/_devices.py``); TF32 is off while scoring
(``pyod_dsnf.detector._device.exact_float32``).
"""

from __future__ import annotations

import pickle
import warnings

import geoopt
import numpy as np
import pytest
import torch

from pyod_dsnf import DSNFDetector
from tests._devices import assert_float32_close, float64_joint_nll
from tests._skeletons import tiny_detector, walking_segments

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    pytest.mark.usefixtures("one_torch_thread"),
]
T = 8


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return walking_segments(64, T, seed=0)


@pytest.fixture(scope="module")
def X_test() -> np.ndarray:
    return walking_segments(40, T, seed=1)


def _agree(on_device: DSNFDetector, on_cpu: DSNFDetector, X: np.ndarray, what: str) -> None:
    """Per-joint NLL and scores of two copies of one model agree (float32 rule)."""
    ref = float64_joint_nll(on_cpu, X)
    cpu, dev = on_cpu.joint_nll(X), on_device.joint_nll(X)
    assert_float32_close(dev, ref, cpu, f"{what}: per-joint NLL")
    ref_s, cpu_s = on_cpu.anomaly_scores_from_joint(ref), on_cpu.decision_function(X)
    assert_float32_close(on_device.decision_function(X), ref_s, cpu_s, f"{what}: scores")


def test_fit_on_cuda_score_on_cpu(X, X_test, tmp_path):
    gpu = tiny_detector(device="cuda").fit(X)
    assert gpu.device_ == f"cuda:{torch.cuda.current_device()}"  # one device, by index
    assert next(gpu.model_.parameters()).is_cuda
    gpu.save(tmp_path / "gpu.dsnf")
    cpu = DSNFDetector.load(tmp_path / "gpu.dsnf")  # load's default: the CPU
    assert cpu.device_ == "cpu"
    _agree(gpu, cpu, X_test, "fitted on CUDA")
    # the training scores (computed on CUDA at fit) against the CPU's
    ref = cpu.anomaly_scores_from_joint(float64_joint_nll(cpu, X))
    assert_float32_close(gpu.decision_scores_, ref, cpu.decision_function(X), "training scores")
    # pickled (weights moved to the CPU) and scored here: back on the fitted device
    twin = pickle.loads(pickle.dumps(gpu))
    assert twin.device_ == gpu.device_
    _agree(twin, cpu, X_test, "pickled")


def test_fit_on_cpu_score_on_cuda(X, X_test, tmp_path):
    cpu = tiny_detector(device="cpu").fit(X)
    cpu.save(tmp_path / "cpu.dsnf")
    gpu = DSNFDetector.load(tmp_path / "cpu.dsnf", device="cuda")
    assert gpu.device_.startswith("cuda:") and next(gpu.model_.parameters()).is_cuda
    _agree(gpu, cpu, X_test, "fitted on the CPU")
    assert gpu.threshold_ == cpu.threshold_


def test_the_bias_manifold_moves_with_the_model(X):
    det = tiny_detector(device="cuda", epochs=1).fit(X)
    points = [p for p in det.model_.parameters() if isinstance(p, geoopt.ManifoldParameter)]
    assert points and all(p.manifold.isp_c.device == p.device for p in points)
    det.model_.to("cpu")
    assert all(p.manifold.isp_c.device.type == "cpu" for p in points)


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
    """Two CUDA fits: as close as float32 round-off allows (the float32 rule, fit 1 as the CPU)."""
    a = tiny_detector(device="cuda", epochs=1).fit(X)
    b = tiny_detector(device="cuda", epochs=1).fit(X)
    on_cpu = pickle.loads(pickle.dumps(a))
    on_cpu.model_.to("cpu")
    on_cpu.device_ = "cpu"
    ref = on_cpu.anomaly_scores_from_joint(float64_joint_nll(on_cpu, X))
    assert_float32_close(b.decision_scores_, ref, on_cpu.decision_function(X), "two fits")


def test_chunked_prefetched_scoring_on_cuda(X, X_test, monkeypatch):
    """Chunks of 7 (prepared one ahead in a second thread), batches of 3, missing joints."""
    import pyod_dsnf.detector.scoring as scoring

    X_missing = X_test.copy()
    X_missing[::5, 2, 4, 2] = 0.0  # every 5th segment has a missing joint: the host imputes it
    det = tiny_detector(device="cuda", epochs=1).fit(X)
    whole = det.joint_nll(X_missing)
    monkeypatch.setattr(scoring, "CUDA_SCORE_CHUNK", 7)
    monkeypatch.setattr(scoring, "CUDA_SCORE_BATCH", 3)
    det.set_params(batch_size=1)
    ref = float64_joint_nll(det, X_missing)
    assert_float32_close(det.joint_nll(X_missing), ref, whole, "chunked")
    on_cpu = pickle.loads(pickle.dumps(det))
    on_cpu.model_.to("cpu")
    on_cpu.device_ = "cpu"
    assert_float32_close(whole, ref, on_cpu.joint_nll(X_missing), "normalised on the GPU")


def test_a_bad_segment_is_named_by_its_place_on_cuda(X, X_test, monkeypatch):
    import pyod_dsnf.detector.scoring as scoring

    det = tiny_detector(device="cuda", epochs=1).fit(X)
    monkeypatch.setattr(scoring, "CUDA_SCORE_CHUNK", 8)
    bad = X_test.copy()
    bad[19, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="first at segment 19"):
        det.decision_function(bad)


def test_scoring_works_and_restores_the_users_new_tf32_setting(X, X_test):
    """torch >= 2.9: after a user sets fp32_precision, reading allow_tf32 raises; we never do."""
    matmul = torch.backends.cuda.matmul
    if not hasattr(matmul, "fp32_precision"):
        pytest.skip("this torch has only the legacy allow_tf32 flags")
    det = tiny_detector(device="cuda", epochs=1)
    before = matmul.fp32_precision
    matmul.fp32_precision = "tf32"
    try:
        det.fit(X)
        det.decision_function(X_test)
        assert matmul.fp32_precision == "tf32"
    finally:
        matmul.fp32_precision = before


def test_a_missing_gpu_index_loads_and_unpickles_onto_the_cpu(X, tmp_path):
    absent = f"cuda:{torch.cuda.device_count()}"
    det = tiny_detector(device="cuda", epochs=1).fit(X)
    det.save(tmp_path / "m.dsnf")
    with pytest.warns(UserWarning, match="loading onto the CPU instead"):
        assert DSNFDetector.load(tmp_path / "m.dsnf", device=absent).device_ == "cpu"
    det.device_ = absent
    with pytest.warns(UserWarning, match=f"unpickled a detector trained on {absent}"):
        assert pickle.loads(pickle.dumps(det)).device_ == "cpu"


def test_a_detector_is_not_moved_by_set_device_or_by_repeated_calls(X, X_test):
    det = tiny_detector(device="cuda", epochs=1).fit(X)
    first = next(det.model_.parameters())
    where = first.device
    det.decision_function(X_test)
    det.device_ = "cuda"  # as pickled by earlier versions: no index
    if torch.cuda.device_count() > 1:
        other = (first.device.index + 1) % torch.cuda.device_count()
        with torch.cuda.device(other), warnings.catch_warnings():
            warnings.simplefilter("error")
            det.decision_function(X_test)
    else:
        det.decision_function(X_test)
    assert next(det.model_.parameters()) is first and first.device == where


def test_scoring_a_folder_in_processes_on_cuda_equals_one_process(tmp_path):
    """Workers (joblib's loky processes) each load the model on CUDA; one process as well."""
    from pyod_dsnf.datasets import make_pose_tracks, save_pose_dataset
    from pyod_dsnf.pipeline import Windowing, cut
    from pyod_dsnf.pipeline.parallel import score_sources

    ds = make_pose_tracks(4, 4, n_frames=(80, 100), random_state=1)
    root = save_pose_dataset(ds, tmp_path / "data")
    det = tiny_detector(device="cuda").fit(cut(ds.train, Windowing.train(seg_len=8, stride=4))
                                           .segments.X)  # fmt: skip
    det.save(tmp_path / "m.dsnf")
    windowing = Windowing.test("person", seg_len=8)
    one = score_sources(tmp_path / "m.dsnf", root / "pose" / "test", windowing, device="cuda",
                        n_jobs=1, threads=1)  # fmt: skip
    two = score_sources(tmp_path / "m.dsnf", root / "pose" / "test", windowing, device="cuda",
                        n_jobs=2, threads=1)  # fmt: skip
    np.testing.assert_array_equal(one.scores, two.scores)  # same device, same kernels
