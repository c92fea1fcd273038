"""Fuzzing DSNFDetector with adversarial arrays: finite scores or a documented error.

The documented errors are ValueError / TypeError for bad input and
FloatingPointError for a numerically failed model (docs/guarantees.md); no other
exception type may escape, and no NaN score is returned.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pyod_dsnf.detector.scoring as scoring
from pyod_dsnf import DSNFDetector
from tests._skeletons import tiny_detector, walking_segments
from tests._tolerances import assert_close_across_machines, detector_score_atol

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


# ----------------------------------------------------------- hand-picked cases
def _with_conf(X, conf):
    return np.concatenate([X[..., :2], np.broadcast_to(conf, (*X.shape[:3], 1))], axis=-1)


def _torch_strided(X):
    out = torch.from_numpy(X).transpose(1, 2).contiguous().transpose(1, 2)
    assert not out.is_contiguous()
    return out


def _one_valid_joint(X):
    return _with_conf(X, (np.arange(17) == 0).astype(float)[None, None, :, None])


def _c_order(data) -> np.ndarray:
    """The same values as a plain C-order numpy array (torch's bfloat16 as float32)."""
    if isinstance(data, torch.Tensor):
        data = data.detach()
        data = (data.float() if data.dtype == torch.bfloat16 else data).numpy()
    return np.ascontiguousarray(np.asarray(data))


@dataclass(frozen=True)
class Same:
    """Finite scores equal to those of ``reference(X)`` as a C-order array, within rounding."""

    reference: Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Raises:
    """The documented error, with a message that says what is wrong."""

    error: type[Exception]
    match: str


NO_VALID_JOINT = "without any joint of confidence > 0"
NOT_FINITE = "NaN or inf coordinates"
NOT_AN_ARRAY = "must be an array of skeleton segments"
# (make the input from X, the one outcome the estimator must give for it)
ADVERSARIAL: dict[str, tuple[Callable[[np.ndarray], Any], Same | Raises]] = {
    # degenerate but valid: every segment's score is the one of its C-order float32 copy
    "all-constant segments": (lambda X: np.full_like(X, 7.0), Same(lambda X: np.full_like(X, 7.0))),
    "single repeated segment": (lambda X: np.repeat(X[:1], 10, 0), Same(lambda X: X[[0] * 10])),
    "one repeated pose": (
        lambda X: np.repeat(np.repeat(X[:1, :1], T, 1), 10, 0),
        Same(lambda X: np.repeat(np.repeat(X[:1, :1], T, 1), 10, 0)),
    ),
    # every segment is centred and scaled: the magnitude does not matter
    "coordinates 1e-12": (lambda X: X * 1e-12, Same(lambda X: X)),
    "coordinates 1e12": (lambda X: X * 1e12, Same(lambda X: X)),
    "coordinates 1e300": (lambda X: X * 1e300, Same(lambda X: X)),
    "float64 maximum": (
        lambda X: np.full_like(X, np.finfo(np.float64).max),
        Same(lambda X: np.full_like(X, 7.0)),
    ),
    # other dtypes, layouts and containers of valid segments: the same values, the same scores
    "int64 pixels": (
        lambda X: (X * 100).astype(np.int64),
        Same(lambda X: (X * 100).astype(np.int64)),
    ),
    "float16": (lambda X: X.astype(np.float16), Same(lambda X: X.astype(np.float16))),
    "Fortran order": (lambda X: np.asfortranarray(X), Same(lambda X: X)),
    "every other segment": (lambda X: X[::2], Same(lambda X: X[::2].copy())),
    "reversed segments": (lambda X: X[::-1], Same(lambda X: X[::-1].copy())),
    "transposed copy viewed back": (
        lambda X: np.swapaxes(np.swapaxes(X, 1, 2).copy(), 1, 2),
        Same(lambda X: X),
    ),
    "flattened 2-D": (lambda X: X.reshape(len(X), -1), Same(lambda X: X)),
    "torch float32": (lambda X: torch.from_numpy(X).float(), Same(lambda X: X)),
    # (torch rounds float64 to float16 through float32: its values, not numpy's)
    "torch float16": (
        lambda X: torch.from_numpy(X).half(), Same(lambda X: torch.from_numpy(X).half().numpy())
    ),
    "torch bfloat16": (
        lambda X: torch.from_numpy(X).bfloat16(),
        Same(lambda X: torch.from_numpy(X).bfloat16().float().numpy()),
    ),
    "torch int64": (
        lambda X: torch.from_numpy(X * 100).long(),
        Same(lambda X: (X * 100).astype(np.int64)),
    ),
    "torch requires_grad": (lambda X: torch.from_numpy(X).requires_grad_(), Same(lambda X: X)),
    "torch non-contiguous": (_torch_strided, Same(lambda X: X)),
    "nested lists": (lambda X: X[:3].tolist(), Same(lambda X: X[:3])),
    "object array of floats": (lambda X: X.astype(object), Same(lambda X: X)),
    # a joint of confidence 0 is missing: its coordinates are never read
    "one valid joint": (
        _one_valid_joint,
        Same(lambda X: _one_valid_joint(np.where(np.arange(17)[:, None] > 0, -5.0, X))),
    ),
    # invalid: each refused with the documented error naming the problem
    "uint8 pixels": (
        lambda X: np.clip(X, 0, 255).astype(np.uint8),
        Raises(ValueError, NO_VALID_JOINT),
    ),
    "int8 (confidence truncated to 0)": (
        lambda X: X.astype(np.int8),
        Raises(ValueError, NO_VALID_JOINT),
    ),
    "float16 overflowing to inf": (
        lambda X: np.where(X > 300, np.float16(np.inf), X.astype("f2")),
        Raises(ValueError, NOT_FINITE),
    ),
    "confidence all 0": (lambda X: _with_conf(X, 0.0), Raises(ValueError, NO_VALID_JOINT)),
    "confidence negative": (lambda X: _with_conf(X, -1.0), Raises(ValueError, NO_VALID_JOINT)),
    "confidence inf": (
        lambda X: _with_conf(X, np.inf),
        Raises(ValueError, "NaN or inf confidence value"),
    ),
    "NaN coordinates": (lambda X: np.where(X > 300, np.nan, X), Raises(ValueError, NOT_FINITE)),
    "complex": (lambda X: X.astype(complex), Raises(ValueError, "X must hold real numbers")),
    "strings": (lambda X: X.astype(str), Raises(TypeError, "got an array of strings")),
    "object array with a string": (
        lambda X: np.array([[["a"]]], dtype=object),
        Raises(TypeError, "object array with a value that is not"),
    ),
    "booleans": (lambda X: X > 100, Raises(TypeError, "got an array of booleans")),
    "ragged nested lists": (
        lambda X: [X[0].tolist(), X[1, :3].tolist()],
        Raises(ValueError, "rectangular array"),
    ),
    "masked array": (
        lambda X: np.ma.masked_array(X, mask=X > 300),
        Raises(ValueError, "masked array with masked entries"),
    ),
    "None": (lambda X: None, Raises(TypeError, f"{NOT_AN_ARRAY}.*got NoneType")),
    "a float": (lambda X: 3.0, Raises(TypeError, f"{NOT_AN_ARRAY}.*got float")),
    "a dict": (lambda X: {"X": 1}, Raises(TypeError, f"{NOT_AN_ARRAY}.*got dict")),
    "empty": (lambda X: X[:0], Raises(ValueError, "0 sample")),
    "zero frames": (lambda X: X[:, :0], Raises(ValueError, r"\(0, 17, 3\), but .* fitted on")),
    "wrong T": (lambda X: X[:, :4], Raises(ValueError, r"\(4, 17, 3\), but .* fitted on")),
}


def _check_same(det: DSNFDetector, scores: np.ndarray, reference: np.ndarray) -> None:
    reference = _c_order(reference)
    expected = det.decision_function(reference)
    assert scores.dtype == np.float64 and scores.shape == expected.shape
    assert np.isfinite(scores).all()
    # only the order of rounding may differ (a strided input is normalised in another
    # summation order, a batch of another size is scored by other kernels): bounded
    # as in tests/_tolerances.py
    atol = detector_score_atol(det, det.joint_nll(reference))
    assert_close_across_machines(scores, expected, atol)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_arrays_give_their_one_documented_outcome(fitted, X, name):
    make, outcome = ADVERSARIAL[name]
    data = make(X)
    if isinstance(outcome, Raises):
        with pytest.raises(outcome.error, match=outcome.match):
            fitted.decision_function(data)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # valid input: no warning either
        scores = fitted.decision_function(data)
    _check_same(fitted, scores, outcome.reference(X))


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
    plain = np.ascontiguousarray(arr)
    layout = draw(st.sampled_from(["C", "F", "strided", "torch"]))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim >= 1:
        arr = np.repeat(arr, 2, axis=0)[::2]
    elif layout == "torch":
        arr = torch.from_numpy(np.ascontiguousarray(arr))
    return plain, arr


def _outcome(run: Callable[[Any], np.ndarray], data) -> np.ndarray | tuple[type, str]:
    """The scores ``run(data)`` gives (never NaN), or its documented error and message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # infinite-NLL notices
            scores = run(data)
    except DOCUMENTED as exc:
        assert str(exc), "an error without a message"
        return type(exc), str(exc)
    assert scores.dtype == np.float64 and scores.ndim == 1
    assert not np.isnan(scores).any()
    return scores


def _same_outcome(got, expected, det: DSNFDetector, plain: np.ndarray) -> None:
    if isinstance(expected, tuple):
        assert got == expected  # the same error type and message, whatever the layout
        return
    assert isinstance(got, np.ndarray), got
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    np.testing.assert_array_equal(got[~finite], expected[~finite])  # +inf: far outside
    if finite.any():
        atol = detector_score_atol(det, det.joint_nll(plain[finite]))
        assert_close_across_machines(got[finite], expected[finite], atol)


@FUZZ
@given(pair=adversarial_arrays())
def test_random_arrays_score_as_their_c_order_copy(fitted, pair):
    """A random array scores finite or raises a documented error (it may be valid or
    not); in Fortran order, strided or as a torch tensor it gives that same outcome."""
    plain, data = pair
    expected = _outcome(fitted.decision_function, plain)
    _same_outcome(_outcome(fitted.decision_function, data), expected, fitted, plain)


@FUZZ
@given(pair=adversarial_arrays())
def test_random_arrays_fit_as_their_c_order_copy(pair):
    plain, data = pair

    def fit(values) -> np.ndarray:
        return tiny(epochs=1, validation_fraction=0.0, augment=False).fit(values).decision_scores_

    expected = _outcome(fit, plain)
    got = _outcome(fit, data)
    if isinstance(expected, tuple):
        assert got == expected
    else:  # same values, same seed: the same training, to the bit
        np.testing.assert_array_equal(got, expected)


# ----------------------------------------------------------- chunked scoring
def test_chunked_scoring_equals_one_pass(fitted, X, monkeypatch):
    whole = fitted.decision_function(X)
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 7)
    det = fitted.set_params(batch_size=5)
    sizes = set()

    def record_batch(module, args):  # the flow's layers see one chunk at a time
        if args and isinstance(args[0], torch.Tensor) and args[0].ndim == 4:
            sizes.add(args[0].shape[0])

    handles = [m.register_forward_pre_hook(record_batch) for m in det.model_.modules()]
    try:
        np.testing.assert_array_equal(det.decision_function(X), whole)
        assert max(sizes) <= 7 < len(X)  # the patched chunk size took effect
        np.testing.assert_array_equal(det.decision_function(torch.from_numpy(X)), whole)
        bad = X.copy()
        bad[20, 3, 4, :2] = np.nan
        with pytest.raises(ValueError, match="first at segment 20, frame 3, joint 4"):
            det.decision_function(bad)
    finally:
        det.set_params(batch_size=32)
        for handle in handles:
            handle.remove()


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
@pytest.mark.slow
def test_n_threads_is_set_during_fit_and_score_and_restored(X):
    seen = []

    def record_threads(module, args):  # a torch forward pre-hook: no patching needed
        seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    det = tiny(epochs=1, n_threads=target).fit(X)
    handles = [m.register_forward_pre_hook(record_threads) for m in det.model_.modules()]
    det.decision_function(X[:3])
    for handle in handles:
        handle.remove()
    assert seen and set(seen) == {target}
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads must be an integer >= 1 or None"):
        tiny(n_threads=0).fit(X)
    det.set_params(n_threads=-2)
    with pytest.raises(ValueError, match="n_threads must be"):
        det.decision_function(X[:3])
    assert torch.get_num_threads() == before
