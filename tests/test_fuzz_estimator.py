"""Fuzzing DSNFDetector with adversarial arrays: finite scores or a documented error.

The documented errors are ValueError / TypeError for bad input and
FloatingPointError for a numerically failed model (docs/guarantees.md); no other
exception type may escape, and no NaN score is returned.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pyod_dsnf.detector.scoring as scoring
from pyod_dsnf import DSNFDetector
from tests._skeletons import tiny_detector, walking_segments

T = 8
DOCUMENTED = (ValueError, TypeError, FloatingPointError)
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


tiny = partial(tiny_detector, n_threads=1)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return walking_segments(48, T, seed=0)


@pytest.fixture(scope="module")
def fitted(X) -> DSNFDetector:
    return tiny().fit(X)


def _score_or_documented_error(det: DSNFDetector, data) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # infinite-NLL notices
            scores = det.decision_function(data)
    except DOCUMENTED as exc:
        assert str(exc), "an error without a message"
        return None
    assert scores.dtype == np.float64 and scores.ndim == 1
    assert not np.isnan(scores).any()
    return scores


# ----------------------------------------------------------- hand-picked cases
def _with_conf(X, conf):
    return np.concatenate([X[..., :2], np.broadcast_to(conf, (*X.shape[:3], 1))], axis=-1)


def _torch_strided(X):
    out = torch.from_numpy(X).transpose(1, 2).contiguous().transpose(1, 2)
    assert not out.is_contiguous()
    return out


ONLY_JOINT_0 = (np.arange(17) == 0).astype(float)[None, None, :, None]
ADVERSARIAL = {
    "all-constant segments": lambda X: np.full_like(X, 7.0),
    "single repeated segment": lambda X: np.repeat(X[:1], 10, axis=0),
    "one repeated pose": lambda X: np.repeat(np.repeat(X[:1, :1], T, 1), 10, 0),
    "coordinates 1e-12": lambda X: X * 1e-12,
    "coordinates 1e12": lambda X: X * 1e12,
    "coordinates 1e300": lambda X: X * 1e300,
    "float64 maximum": lambda X: np.full_like(X, np.finfo(np.float64).max),
    "int64 pixels": lambda X: (X * 100).astype(np.int64),
    "uint8 pixels": lambda X: np.clip(X, 0, 255).astype(np.uint8),
    "int8 (confidence truncated to 0)": lambda X: X.astype(np.int8),
    "float16": lambda X: X.astype(np.float16),
    "float16 overflowing to inf": lambda X: np.where(X > 300, np.float16(np.inf), X.astype("f2")),
    "Fortran order": lambda X: np.asfortranarray(X),
    "every other segment": lambda X: X[::2],
    "reversed segments": lambda X: X[::-1],
    "transposed copy viewed back": lambda X: np.swapaxes(np.swapaxes(X, 1, 2).copy(), 1, 2),
    "flattened 2-D": lambda X: X.reshape(len(X), -1),
    "torch float32": lambda X: torch.from_numpy(X).float(),
    "torch float16": lambda X: torch.from_numpy(X).half(),
    "torch bfloat16": lambda X: torch.from_numpy(X).bfloat16(),
    "torch int64": lambda X: torch.from_numpy(X * 100).long(),
    "torch requires_grad": lambda X: torch.from_numpy(X).requires_grad_(),
    "torch non-contiguous": lambda X: (
        torch.from_numpy(X).transpose(1, 2).contiguous().transpose(1, 2)
    ),
    "nested lists": lambda X: X[:3].tolist(),
    "object array of floats": lambda X: X.astype(object),
    "confidence all 0": lambda X: _with_conf(X, 0.0),
    "confidence negative": lambda X: _with_conf(X, -1.0),
    "confidence inf": lambda X: _with_conf(X, np.inf),
    "NaN coordinates": lambda X: np.where(X > 300, np.nan, X),
    "one valid joint": lambda X: _with_conf(
        X, (np.arange(17) == 0).astype(float)[None, None, :, None]
    ),
    "complex": lambda X: X.astype(complex),
    "strings": lambda X: X.astype(str),
    "object array with a string": lambda X: np.array([[["a"]]], dtype=object),
    "booleans": lambda X: X > 100,
    "ragged nested lists": lambda X: [X[0].tolist(), X[1, :3].tolist()],
    "masked array": lambda X: np.ma.masked_array(X, mask=X > 300),
    "None": lambda X: None,
    "a float": lambda X: 3.0,
    "a dict": lambda X: {"X": 1},
    "empty": lambda X: X[:0],
    "zero frames": lambda X: X[:, :0],
    "wrong T": lambda X: X[:, :4],
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_arrays_score_finite_or_raise_documented_error(fitted, X, name):
    _score_or_documented_error(fitted, ADVERSARIAL[name](X))


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("torch bfloat16", None, None),
        ("complex", ValueError, "X must hold real numbers"),
        ("object array with a string", TypeError, "object array with a value that is not"),
        ("ragged nested lists", ValueError, "rectangular array"),
        ("masked array", ValueError, "masked array with masked entries"),
        ("None", TypeError, "got NoneType"),
        ("a dict", TypeError, "got dict"),
    ],
)
def test_found_crashes_have_clear_messages(fitted, X, name, error, match):
    """Each of these escaped with numpy's / sklearn's own message (or crashed) before."""
    data = ADVERSARIAL[name](X)
    if error is None:
        assert np.isfinite(fitted.decision_function(data)).all()
    else:
        with pytest.raises(error, match=match):
            fitted.decision_function(data)


@pytest.mark.parametrize("factor", [1e-12, 1e-6, 1e6, 1e12, 1e300])
def test_normalization_is_scale_invariant_at_any_magnitude(fitted, X, factor):
    """Before, segments below 1e-6 collapsed to a point and 1e300 overflowed to zeros."""
    ref = fitted.decision_function(X[:8])
    np.testing.assert_allclose(fitted.decision_function(X[:8] * factor), ref, rtol=1e-4)


def test_torch_bfloat16_fit(X):
    det = tiny(epochs=1).fit(torch.from_numpy(X).bfloat16())
    assert np.isfinite(det.decision_scores_).all()


def test_fit_on_constant_segments_is_a_clear_error(X):
    with pytest.raises(ValueError, match="do not vary"):
        tiny().fit(np.full_like(X, 3.0))


# ----------------------------------------------------------- random arrays
dtypes = st.sampled_from(
    [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.uint8, np.int8]
)
elements = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def adversarial_arrays(draw):
    shape = draw(
        st.one_of(
            st.tuples(st.integers(0, 4), st.just(T), st.just(17), st.sampled_from([2, 3])),
            hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=5),
            st.tuples(st.integers(1, 3), st.just(T * 17 * 3)),
        )
    )
    kind = draw(st.sampled_from(["finite", "wild", "scaled"]))
    dtype = draw(dtypes)
    if kind == "finite":
        arr = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e4, 1e4)))
    elif kind == "wild":
        arr = draw(hnp.arrays(np.float64, shape, elements=elements))
    else:
        base = walking_segments(max(shape[0], 1), T, seed=1) if len(shape) == 4 else None
        if base is None or shape[1:] != (T, 17, 3):
            arr = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)))
        else:
            arr = base[: shape[0]] * 10.0 ** draw(st.integers(-15, 15))
    with np.errstate(all="ignore"):
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            arr = np.clip(np.nan_to_num(arr), info.min, info.max).astype(dtype)
        else:
            arr = arr.astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "strided", "torch"]))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim >= 1:
        arr = np.repeat(arr, 2, axis=0)[::2]
    elif layout == "torch":
        arr = torch.from_numpy(np.ascontiguousarray(arr))
    return arr


@FUZZ
@given(data=adversarial_arrays())
def test_random_arrays_score_finite_or_raise_documented_error(fitted, data):
    _score_or_documented_error(fitted, data)


@FUZZ
@given(data=adversarial_arrays())
def test_random_arrays_fit_or_raise_documented_error(data):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            det = tiny(epochs=1, validation_fraction=0.0, augment=False).fit(data)
    except DOCUMENTED as exc:
        assert str(exc)
        return
    assert not np.isnan(det.decision_scores_).any()


# ----------------------------------------------------------- chunked scoring
def test_chunked_scoring_equals_one_pass(fitted, X, monkeypatch):
    whole = fitted.decision_function(X)
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 7)
    det = fitted.set_params(batch_size=5)
    try:
        np.testing.assert_array_equal(det.decision_function(X), whole)
        np.testing.assert_array_equal(det.decision_function(torch.from_numpy(X)), whole)
        bad = X.copy()
        bad[20, 3, 4, :2] = np.nan
        with pytest.raises(ValueError, match="first at segment 20, frame 3, joint 4"):
            det.decision_function(bad)
    finally:
        det.set_params(batch_size=32)


def test_strided_window_view_is_scored_without_a_full_copy(fitted, X, monkeypatch):
    """sliding_window_view windows (a strided view) go through in chunks."""
    track = X[:, 0].reshape(-1, 17, 3)  # one long (fake) track: 48 frames
    windows = np.lib.stride_tricks.sliding_window_view(track, T, axis=0)  # (41, 17, 3, T)
    view = np.moveaxis(windows, -1, 1)  # (41, T, 17, 3), no copy
    assert np.shares_memory(view, track)
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 10)
    scores = fitted.decision_function(view)
    np.testing.assert_array_equal(scores, fitted.decision_function(np.ascontiguousarray(view)))


# ----------------------------------------------------------- threads
def test_n_threads_is_set_during_fit_and_score_and_restored(X, monkeypatch):
    seen = []
    real = scoring.joint_nll_bits_per_dim

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "joint_nll_bits_per_dim", spy)
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    det = tiny(epochs=1, n_threads=target).fit(X)
    det.decision_function(X[:3])
    assert seen and set(seen) == {target}
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads must be an integer >= 1 or None"):
        tiny(n_threads=0).fit(X)
    det.set_params(n_threads=-2)
    with pytest.raises(ValueError, match="n_threads must be"):
        det.decision_function(X[:3])
    assert torch.get_num_threads() == before
