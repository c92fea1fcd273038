"""PyOD baselines on flattened normalized segments, the random control, RNG isolation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from pyod_dsnf import normalize_segments
from pyod_dsnf.experiments.baselines import (
    PYOD_METHODS,
    RandomScores,
    flat_segments,
    isolated_rng,
    make_pyod_detector,
)


def test_flat_segments_is_normalize_segments_flattened():
    X = np.random.default_rng(0).normal(100, 20, size=(5, 4, 17, 3)).astype(np.float32)
    X[..., 2] = 1.0
    F = flat_segments(X)
    assert F.shape == (5, 4 * 17 * 2) and F.dtype == np.float32
    np.testing.assert_allclose(F, normalize_segments(X).reshape(5, -1), rtol=1e-6)


def test_random_scores_are_seeded_and_need_fit():
    X = np.zeros((6, 3))
    a = RandomScores(random_state=3).fit(X).decision_function(X)
    b = RandomScores(random_state=3).fit(X).decision_function(X)
    np.testing.assert_array_equal(a, b)
    assert ((a >= 0) & (a < 1)).all()
    with pytest.raises(NotFittedError):
        RandomScores().decision_function(X)


def test_unknown_method_names_the_choices():
    with pytest.raises(ValueError, match=r"method must be one of .*'iforest'.*got 'nope'"):
        make_pyod_detector("nope", n_features=4)


# PyOD's autoencoder trains a torch network: the one slow case (8 s on a busy machine)
NAMES = [
    pytest.param(m, marks=pytest.mark.slow) if m == "autoencoder" else m
    for m in [*PYOD_METHODS, "random"]
]


@pytest.mark.parametrize("name", NAMES)
def test_every_detector_fits_and_keeps_global_rng_state(name):
    X = np.random.default_rng(1).normal(size=(60, 8)).astype(np.float32)
    np_before = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_before = torch.random.get_rng_state().clone()
    with isolated_rng():
        det = make_pyod_detector(name, n_features=8, n_samples=60, random_state=0)
        s = det.fit(X).decision_function(X[:7])
    assert s.shape == (7,) and np.isfinite(s).all()
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_before)
