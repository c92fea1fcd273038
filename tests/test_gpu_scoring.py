"""The CUDA scoring path's parts, run on the CPU: device normalisation and prefetching.

``device_prepare`` and ``score_prefetched`` work on any device; the estimator uses
them on CUDA only (tests/test_gpu.py runs that path). Tolerance of the float32
normalisation against the host's float64 one: 16 float32 ulps of the value (or of
1, the coordinates' RMS after normalisation), a handful of roundings per value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyod_dsnf.detector._gpu_scoring import (
    device_prepare,
    normalize_on_device,
    score_prefetched,
)
from pyod_dsnf.detector._validation import prepare_segments
from tests._devices import EPS32
from tests._skeletons import walking_segments

CPU = torch.device("cpu")


def _close_to_host(got: torch.Tensor, X: np.ndarray) -> None:
    ref = prepare_segments(X, normalize=True)
    atol = 16 * EPS32 * max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=atol)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
@pytest.mark.parametrize("channels", [2, 3])
def test_complete_segments_are_normalised_like_the_host(scale, channels):
    X = walking_segments(30, 8, seed=0)[..., :channels] * scale  # pixels, offset in the image
    if channels == 3:
        X[..., 2] = 0.9
    _close_to_host(device_prepare(X, CPU, normalize=True), X)


def test_segments_with_a_missing_joint_are_prepared_on_the_host_in_place():
    X = walking_segments(12, 8, seed=1)
    X[[2, 7], 3, 5, 2] = 0.0  # a missing joint in segments 2 and 7: imputed on the host
    got = device_prepare(X, CPU, normalize=True)
    ref = prepare_segments(X, normalize=True)
    np.testing.assert_array_equal(got[[2, 7]].numpy(), ref[[2, 7]])  # the host's own values
    _close_to_host(got, X)


def test_errors_name_the_segment_by_its_place_in_the_input():
    X = walking_segments(12, 8, seed=1)
    X[5, 0, 0, 0] = np.nan  # a NaN coordinate of a joint with confidence > 0
    with pytest.raises(ValueError, match="first at segment 105"):
        device_prepare(X, CPU, normalize=True, offset=100)


def test_the_host_path_where_it_must():
    X = walking_segments(6, 8, seed=2)
    assert device_prepare(X, CPU, normalize=False) is None  # raw coordinates: the host's rules
    X[..., 2] = 0.0
    X[:, :, 0, 2] = 1.0  # one valid joint per frame: every segment needs imputation
    assert device_prepare(X, CPU, normalize=True) is None
    huge = walking_segments(4, 8, seed=2)
    huge[1, ..., :2] *= 1e32  # beyond float32's comfort: prepared in float64 on the host
    _close_to_host(device_prepare(huge, CPU, normalize=True), huge)


def test_a_still_pose_stays_finite():
    X = np.repeat(walking_segments(1, 8, seed=3)[:, :1], 8, axis=1)
    X[..., :2] = 5.0  # every joint at one point: the relative floor keeps it finite
    out = normalize_on_device(torch.from_numpy(X[..., :2].astype(np.float32)))
    assert torch.isfinite(out).all() and float(out.abs().max()) == 0.0


def test_prefetched_chunks_give_the_same_result_in_order():
    X = np.arange(23, dtype=np.float64)[:, None, None, None] * np.ones((1, 2, 3, 2))
    seen = []

    def prepare(chunk, start):
        return chunk[:, 0, :, 0].copy(), start

    def run(data, start):
        values, prepared_at = data
        seen.append((start, prepared_at))
        return values

    out = score_prefetched(X, prepare, run, chunk=5, n_joints=3)
    np.testing.assert_array_equal(out, X[:, 0, :, 0])
    assert seen == [(s, s) for s in range(0, 23, 5)]
    assert score_prefetched(list(X), lambda c, s: np.asarray(c)[:, 0, :, 0], run=lambda d, s: d,
                            chunk=5, n_joints=3).shape == (23, 3)  # fmt: skip


def test_prefetched_errors_come_in_chunk_order():
    X = np.zeros((20, 2, 3, 2))

    def prepare(chunk, start):
        if start == 10:
            raise ValueError("bad chunk at 10")
        return chunk

    def run(data, start):
        if start == 5:
            raise FloatingPointError("NaN at 5")
        return np.zeros((len(data), 3))

    with pytest.raises(FloatingPointError, match="NaN at 5"):  # before the later chunk's error
        score_prefetched(X, prepare, run, chunk=5, n_joints=3)
    with pytest.raises(ValueError, match="bad chunk at 10"):
        score_prefetched(X, prepare, lambda d, s: np.zeros((len(d), 3)), chunk=5, n_joints=3)
