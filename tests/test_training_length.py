"""Training for detection: a step budget (``max_steps``) and the held-out standardisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._device import seeds_from
from pyod_dsnf.detector._training_data import MIN_REFERENCE
from pyod_dsnf.flow import DSNFlow
from tests._skeletons import tiny_detector, walking_segments
from tests.test_training import _train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _setup():
    torch.manual_seed(0)  # test-local: the tests do not check the global state
    model = DSNFlow(in_channels=2, n_frames=6, graph="coco17", n_flow_steps=2,
                    hidden_channels=4, space="euclidean")  # fmt: skip
    data = torch.randn(72, 2, 6, 17)
    return model, data[:64], data[64:]  # 64 training samples: 4 batches of 16


def _counting_steps():
    """Count optimiser steps (a global torch hook, removed by the caller)."""
    counter = {"steps": 0}

    def hook(opt, args, kwargs):
        counter["steps"] += 1

    return counter, register_optimizer_step_post_hook(hook)


@pytest.mark.parametrize(("max_steps", "epochs_run", "steps"), [(6, 2, 6), (8, 2, 8),
                                                                 (None, 3, 12), (100, 3, 12)])
def test_training_stops_at_max_steps_or_epochs(max_steps, epochs_run, steps):
    model, train, val = _setup()
    counter, handle = _counting_steps()
    try:
        history, n_epochs = _train(model, train, val, epochs=3, max_steps=max_steps)
    finally:
        handle.remove()
    assert counter["steps"] == steps
    assert n_epochs == epochs_run
    # a cut epoch still ends with its validation NLL, and its means are over what it saw
    assert all(len(v) == epochs_run for v in history.values())
    assert np.isfinite(history["train_loss"]).all()


def test_the_step_budget_means_the_same_on_more_data():
    """Twice the data: twice the steps per epoch, the same number of steps in all."""
    X = walking_segments(120, 8, seed=0)
    small = tiny_detector(epochs=50, max_steps=12, validation_fraction=0.0).fit(X)
    large = tiny_detector(epochs=50, max_steps=12, validation_fraction=0.0).fit(
        np.concatenate([X, walking_segments(120, 8, seed=1)])
    )
    # 120 segments + mirrors = 240 = 8 batches of 32; 480 = 15 batches
    assert small.n_epochs_ == 2 and large.n_epochs_ == 1


def test_max_steps_is_checked():
    X = walking_segments(40, 8, seed=0)
    for bad in (0, -3, 2.5, "10"):
        with pytest.raises(ValueError, match="max_steps must be"):
            DSNFDetector(max_steps=bad).fit(X)


def _held_out(det, X):
    """The segments fit held out, rebuilt from random_state as fit draws them."""
    _, rng = seeds_from(det.random_state)
    n = len(X)
    n_val = max(round(n * det.validation_fraction), 1)
    return X[rng.permutation(n)[:n_val]]


def test_joint_score_is_standardised_on_the_held_out_segments():
    X = walking_segments(600, 8, seed=0)  # 60 held out
    det = tiny_detector(epochs=1).fit(X)
    val = _held_out(det, X)
    assert len(val) >= MIN_REFERENCE
    joint = det.joint_nll(val)
    np.testing.assert_allclose(det.joint_nll_mean_, joint.mean(axis=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(det.joint_nll_std_, joint.std(axis=0), rtol=1e-5, atol=1e-9)
    # not on the training segments
    assert not np.allclose(det.joint_nll_mean_, det.joint_nll(X).mean(axis=0), rtol=1e-6)


def test_small_hold_outs_fall_back_to_the_training_segments():
    X = walking_segments(200, 8, seed=0)  # 20 held out: too few for 17 spreads
    det = tiny_detector(epochs=1).fit(X)
    assert len(_held_out(det, X)) < MIN_REFERENCE
    joint = det.joint_nll(X)
    np.testing.assert_allclose(det.joint_nll_mean_, joint.mean(axis=0), rtol=1e-6, atol=1e-9)
