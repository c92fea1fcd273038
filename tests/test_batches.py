"""batch_size="auto": the protocol's batch on the CPU; on CUDA its own, with the sqrt lr rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._batching import (
    CPU_TRAIN_BATCH,
    CUDA_TRAIN_BATCH,
    scoring_batch_floor,
    training_batch,
)
from pyod_dsnf.detector._params import check_params
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_auto_is_the_default_and_follows_the_device():
    assert DSNFDetector().batch_size == "auto"
    cpu = training_batch("auto", 5e-3, torch.device("cpu"))
    assert cpu == (CPU_TRAIN_BATCH, 5e-3) == (64, 5e-3)
    batch, lr = training_batch("auto", 5e-3, torch.device("cuda", 0))  # no GPU is touched
    assert batch == CUDA_TRAIN_BATCH >= CPU_TRAIN_BATCH  # 64 until a larger one holds the AUC
    assert lr == pytest.approx(5e-3 * math.sqrt(CUDA_TRAIN_BATCH / CPU_TRAIN_BATCH))


def test_an_integer_batch_is_used_as_given_on_every_device():
    for device in (torch.device("cpu"), torch.device("cuda", 1)):
        assert training_batch(32, 0.1, device) == (32, 0.1)
    assert scoring_batch_floor("auto") == 64 and scoring_batch_floor(np.int64(300)) == 300


@pytest.mark.parametrize("bad", [0, -3, 2.5, "big", None, True])
def test_batch_size_is_auto_or_a_positive_integer(bad):
    params = DSNFDetector(batch_size=bad).get_params(deep=False)
    with pytest.raises(ValueError, match="batch_size must be 'auto' or an integer >= 1, got"):
        check_params(params)


def test_auto_on_the_cpu_is_exactly_the_batch_of_64():
    X = walking_segments(40, 8, seed=0)
    auto = tiny_detector(batch_size="auto", epochs=1).fit(X)
    b64 = tiny_detector(batch_size=64, epochs=1).fit(X)
    np.testing.assert_array_equal(auto.decision_scores_, b64.decision_scores_)
    assert auto.history_ == b64.history_
