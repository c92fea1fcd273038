"""Chunked scoring, the per-joint standardisation, NaN refusal, the device fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyod_dsnf.detector import _batching, scoring
from pyod_dsnf.detector._batching import batch_size
from pyod_dsnf.detector._device import CudaState
from pyod_dsnf.detector.scoring import JointStandardizer, joint_nll, score_in_chunks, scoring_device
from tests._devices import assert_float32_close, float64_joint_nll
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_standardizer_joint_and_nll_scores():
    joint = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]])
    std = JointStandardizer.fit(joint)
    np.testing.assert_allclose(std.mean, [2.0, 3.0])
    np.testing.assert_allclose(std.std, [np.sqrt(2 / 3), np.sqrt(2)])
    np.testing.assert_allclose(std.scores(joint, "nll"), [3.0, 5.0, 7.0])
    # the largest z of each row, by hand: row 0 max(-sqrt(3/2), -1/sqrt(2)), row 1
    # max(sqrt(3/2), -1/sqrt(2)), row 2 max(0, sqrt(2))
    np.testing.assert_allclose(
        std.scores(joint, "joint"), [-1 / np.sqrt(2), np.sqrt(3 / 2), np.sqrt(2)], rtol=1e-12
    )
    # the most atypical joint decides, not the total: row 1 has the larger total,
    # row 0 one joint further from its mean
    rows = np.array([[2.0, 3.0 + 3 * np.sqrt(2)], [2.0 + 3 * np.sqrt(2 / 3), 7.0]])
    s = std.scores(rows, "joint")
    assert rows[1].sum() > rows[0].sum() and s[0] > s[1]


def test_standardizer_keeps_infinite_shares_most_abnormal_and_floors_the_spread():
    std = JointStandardizer.fit(np.ones((4, 3)))
    assert (std.std == 1e-12).all()
    s = std.scores(np.array([[1.0, np.inf, 1.0], [1.0, 1.0, 2.0]]), "joint")
    assert s[0] == np.inf and np.isfinite(s[1])


def test_score_in_chunks_passes_offsets_and_concatenates():
    X = np.arange(10.0).reshape(10, 1, 1, 1)
    seen = []

    def score(part, offset, jobs):
        seen.append((len(part), offset, jobs))
        return np.repeat(np.asarray(part).reshape(-1, 1), 2, axis=1) + offset

    # equal chunks of at most 4, a multiple of CHUNK_MULTIPLE of them
    out = score_in_chunks(X, score, chunk=4, n_joints=2, n_jobs=3)
    assert scoring.CHUNK_MULTIPLE == 4 and sorted(seen) == [(2, 0, 1), (2, 5, 1), (3, 2, 1),
                                                            (3, 7, 1)]  # fmt: skip
    offsets = np.repeat([0, 2, 5, 7], [2, 3, 2, 3])
    np.testing.assert_array_equal(out[:, 0], np.arange(10.0) + offsets)
    seen.clear()
    score_in_chunks(X, score, chunk=10, n_joints=2, n_jobs=3)
    assert seen == [(10, 0, 3)]  # one chunk: its threads are the jobs
    seen.clear()
    score_in_chunks(X.tolist(), score, chunk=4, n_joints=2)  # no shape: one piece
    assert seen == [(10, 0, 1)]


@pytest.fixture(scope="module")
def fitted():
    return tiny_detector(epochs=1).fit(walking_segments(24, 8, seed=0))


class _FakeFlow(torch.nn.Module):
    """Stands in for the flow through the interface joint_nll uses (``joint_log_prob``):
    log-probabilities of 0, NaN for the segments in ``nan_at``; records its batches."""

    def __init__(self, nan_at: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.nan_at, self.batches = set(nan_at), []

    def joint_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        first = sum(self.batches)
        out = torch.zeros(len(x), x.shape[-1], dtype=torch.float64)
        for i in range(len(x)):
            if first + i in self.nan_at:
                out[i, 5] = float("nan")
        self.batches.append(len(x))
        return out


def test_joint_nll_refuses_nan_naming_the_first_segment():
    data = np.zeros((4, 2, 8, 17), np.float32)
    with pytest.raises(FloatingPointError, match=r"NaN for 1 of the x \(first: segment 12\)"):
        joint_nll(_FakeFlow(nan_at=(2,)), data, batch_size=2, device=torch.device("cpu"),
                  what="the x", offset=10)  # fmt: skip


def test_scoring_batch_is_cache_sized_by_width(fitted):
    cpu = torch.device("cpu")
    limit = scoring.forward_batch(fitted.model_, cpu)
    assert limit == batch_size("cpu", 4, n_frames=8)  # the tiny model: H = 4, T = 8
    flow = _FakeFlow()
    flow.hidden_channels, flow.n_frames, flow.n_joints = 4, 8, 17
    data = np.zeros((limit + 10, 2, 8, 17), np.float32)
    # the estimator's batch_size does not matter on the CPU: near-equal batches of at most
    # the limit, 2 of (limit + 10) / 2
    joint_nll(flow, data, batch_size=5000, device=cpu, what="x")
    assert flow.batches == [(limit + 10) // 2] * 2
    other = _FakeFlow()
    joint_nll(other, data[:12], cpu_batch=5, device=cpu, what="x")  # 3 batches of 4
    assert other.batches == [4, 4, 4]


def test_batch_rule_is_bytes_per_batch():
    # a hidden activation of about CPU_CACHE_BYTES per batch: half the width, twice the batch
    assert [batch_size("cpu", h) for h in (4, 8, 16)] == [256, 128, 64]
    assert batch_size("cpu", 4, n_frames=48) == 128
    assert batch_size("cpu", 1, n_frames=1, n_joints=1) == _batching.MAX_BATCH
    assert batch_size("cpu", 4096) == _batching.MIN_BATCH
    assert batch_size("cuda", 4) == _batching.ACCELERATOR_BATCH == scoring.CUDA_SCORE_BATCH


@pytest.mark.parametrize(
    ("fitted_device", "machine", "why"),
    [
        ("cuda:0", CudaState(available=False, count=0), "CUDA is not available here"),
        ("cuda", CudaState(available=False, count=0), "CUDA is not available here"),
        ("cuda:1", CudaState(available=True, count=1), "only 1 CUDA device"),
        ("cuda:0", CudaState(available=True, count=2, bad_fork=True), "forked"),
    ],
)
def test_scoring_device_falls_back_to_the_cpu(fitted, fitted_device, machine, why):
    """No CUDA, an index beyond the machine's GPUs, a forked process: the CPU, with a warning."""
    with pytest.warns(UserWarning, match=f"trained on {fitted_device}, which is not available"):
        dev = scoring_device(fitted.model_, fitted_device, cuda=machine)
    assert dev == torch.device("cpu")
    with pytest.warns(UserWarning, match=why):
        scoring_device(fitted.model_, fitted_device, cuda=machine)
    assert next(fitted.model_.parameters()).device == dev


def test_scoring_device_keeps_a_model_where_it_is(fitted):
    assert scoring_device(fitted.model_, "cpu") == torch.device("cpu")


def test_warn_infinite():
    with pytest.warns(UserWarning, match="2 of the y have an infinite NLL"):
        scoring.warn_infinite(np.array([1.0, np.inf, np.inf]), "the y")


def test_float32_scores_sit_within_float32_round_off_of_the_float64_reference(fitted):
    """The reference of the cross-device tests (tests/_devices.py), checked on the CPU."""
    X = walking_segments(16, 8, seed=3)
    ref, cpu = float64_joint_nll(fitted, X), fitted.joint_nll(X)
    err = np.abs(cpu - ref).max()
    assert 0 < err < 1e-4 * np.abs(ref).max()  # float32 rounding: present and small
    assert_float32_close(cpu, ref, cpu, "the CPU itself")
    with pytest.raises(AssertionError, match="bound"):
        assert_float32_close(cpu + 100 * err, ref, cpu, "shifted")
