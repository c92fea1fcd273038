"""compile=...: torch.compile of the scoring forward, its eager fallback and its cache folder."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from pyod_dsnf.detector._compile import cache_dir, check_compile
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def fitted():
    return tiny_detector(epochs=1, n_jobs=1).fit(walking_segments(40, 8, seed=0))


@pytest.fixture(scope="module")
def X():
    return walking_segments(37, 8, seed=1)


def _failing_backend(gm, example_inputs):
    raise RuntimeError("no compiler here (forced by the test)")


def test_a_failing_compiler_warns_once_and_scores_eagerly(fitted, X):
    eager = fitted.set_params(compile=False).decision_function(X)
    det = pickle.loads(pickle.dumps(fitted)).set_params(compile=_failing_backend)
    with pytest.warns(UserWarning, match=r"torch.compile is unavailable or failed .*forced by"):
        np.testing.assert_array_equal(det.decision_function(X), eager)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback is remembered: no second warning
        np.testing.assert_array_equal(det.decision_function(X), eager)
    det2 = pickle.loads(pickle.dumps(fitted)).set_params(compile="no-such-backend")
    with pytest.warns(UserWarning, match="scoring eagerly instead"):
        np.testing.assert_array_equal(det2.decision_function(X), eager)


def test_compiled_scores_equal_eager_ones_for_any_n_jobs(fitted, X):
    # the "eager" backend: dynamo traces the flow, no kernels are built (fast, no compiler)
    eager = fitted.set_params(compile=False, n_jobs=1).decision_function(X)
    det = pickle.loads(pickle.dumps(fitted))
    for n_jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            scores = det.set_params(compile="eager", n_jobs=n_jobs).decision_function(X)
        np.testing.assert_allclose(scores, eager, rtol=1e-5, atol=1e-6)
    pickle.dumps(det)  # the compiled function is not part of the detector


def test_compile_parameter_is_checked_at_fit():
    assert check_compile(False) is None and check_compile(True) == "inductor"
    with pytest.raises(ValueError, match=r"compile must be a bool, a torch\.compile backend"):
        tiny_detector(epochs=1, compile=3).fit(walking_segments(20, 8, seed=2))


def test_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "ind"))
    assert cache_dir() == tmp_path / "ind"
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "pyod_dsnf" / "inductor"
