"""n_jobs: chunks scored by threads, same scores for any n_jobs, a default that never nests."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV

from pyod_dsnf.detector import scoring
from pyod_dsnf.detector._jobs import resolve_n_jobs
from pyod_dsnf.detector._threads import _usable_cores
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fitted():
    return tiny_detector(epochs=1, n_jobs=1).fit(walking_segments(40, 8, seed=0))


@pytest.fixture(scope="module")
def X():
    return walking_segments(61, 8, seed=1)


def test_scores_are_the_same_for_any_n_jobs(fitted, X, monkeypatch):
    one = fitted.set_params(n_jobs=1).decision_function(X)
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 7)  # 61 segments: many chunks
    for n_jobs in (1, 2, 3, -1, None):
        np.testing.assert_array_equal(fitted.set_params(n_jobs=n_jobs).decision_function(X), one)
    fitted.set_params(n_jobs=1)


class _SpyFlow(torch.nn.Module):
    """A fitted flow that records (rows, thread, torch threads) of every scoring forward."""

    def __init__(self, flow):
        super().__init__()
        self.flow = flow
        self.hidden_channels, self.n_frames = flow.hidden_channels, flow.n_frames
        self.n_joints = flow.n_joints
        self.seen = []

    def joint_log_prob(self, x):
        self.seen.append((len(x), threading.get_ident(), torch.get_num_threads()))
        return self.flow.joint_log_prob(x)


def test_threads_run_with_one_intra_op_thread_and_restore_torch(fitted, X, monkeypatch):
    spy = _SpyFlow(fitted.model_)
    monkeypatch.setattr(fitted, "model_", spy)  # the fitted attribute, not an imported name
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 7)  # 4 chunks (of max(batch_size, 7) or less)
    torch.set_num_threads(2)
    fitted.set_params(n_jobs=2, n_threads=2).decision_function(X)
    fitted.set_params(n_jobs=1, n_threads=None)
    threads = {ident for _, ident, _ in spy.seen}
    assert sum(n for n, _, _ in spy.seen) == len(X)
    assert len(threads) <= 2 and threading.main_thread().ident not in threads
    assert all(n_threads == 1 for _, _, n_threads in spy.seen)
    assert torch.get_num_threads() == 2


def test_one_chunk_is_split_by_whole_forward_batches(fitted, X):
    from pyod_dsnf.detector._validation import prepare_segments

    data = prepare_segments(X, normalize=True)
    cpu = torch.device("cpu")
    one = scoring.joint_nll(fitted.model_, data, device=cpu, what="x", cpu_batch=5)
    for n_jobs in (2, 3, 20):
        spy = _SpyFlow(fitted.model_)
        joint = scoring.joint_nll(spy, data, device=cpu, what="x", cpu_batch=5, n_jobs=n_jobs)
        np.testing.assert_array_equal(joint, one)
        # 61 rows: 13 batches of 5 (the last of 1) whatever n_jobs, scored by worker threads
        assert sorted(n for n, _, _ in spy.seen) == [1] + [5] * 12
        threads = {ident for _, ident, _ in spy.seen}
        assert len(threads) <= min(n_jobs, 13)
        assert threading.main_thread().ident not in threads


def test_the_first_chunk_error_is_raised(fitted, X, monkeypatch):
    bad = X.copy()
    bad[[12, 50], 2, 3, :2] = np.nan
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 5)
    with pytest.raises(ValueError, match="first at segment 12, frame 2, joint 3"):
        fitted.set_params(n_jobs=3).decision_function(bad)
    fitted.set_params(n_jobs=1)


def test_default_is_one_job_whatever_the_environment(monkeypatch):
    """None: one job (two threads were not faster on the machines measured)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert resolve_n_jobs(None) == 1
    nested = Parallel(n_jobs=2, backend="threading")(delayed(resolve_n_jobs)(None) for _ in "ab")
    assert nested == [1, 1]


def test_resolve_n_jobs_follows_scikit_learn():
    cores = _usable_cores()
    assert resolve_n_jobs(3) == 3 and resolve_n_jobs(np.int64(2)) == 2
    assert resolve_n_jobs(-1) == cores and resolve_n_jobs(-cores - 5) == 1
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_jobs must be None or a non-zero integer"):
            resolve_n_jobs(bad)


def test_bad_n_jobs_fails_at_fit_and_grid_search_threads_compose():
    X = walking_segments(24, 8, seed=2)
    with pytest.raises(ValueError, match=r"non-zero integer \(-1: every core\), got 0"):
        tiny_detector(epochs=1, n_jobs=0).fit(X)
    grid = GridSearchCV(tiny_detector(epochs=1), {"awam_lambda": [0.0, 0.1]}, cv=2, n_jobs=2)
    from joblib import parallel_config

    with parallel_config(backend="threading"):
        grid.fit(X)
    assert np.isfinite(grid.best_score_)
