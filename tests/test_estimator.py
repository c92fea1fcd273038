"""Tests of DSNFDetector: API, input rules, determinism, scikit-learn and PyOD integration."""

from __future__ import annotations

import pickle
import statistics
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from pyod_dsnf import DSNFDetector, SkeletonGraph
from tests._skeletons import (
    TINY,
    limb_swapped,
    tiny_detector,
    walking_segments,
    with_standardiser,
)

T = 8
tiny = tiny_detector


# Tiny models run several times faster on one thread than on two contended ones.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def X_train() -> np.ndarray:
    return walking_segments(48, T, seed=0)


@pytest.fixture(scope="module")
def fitted(X_train) -> DSNFDetector:
    return tiny().fit(X_train)


# ---------------------------------------------------------------- fit & attributes
def test_fit_sets_fitted_attributes(fitted, X_train):
    n = len(X_train)
    assert fitted.decision_scores_.shape == (n,)
    assert np.isfinite(fitted.decision_scores_).all()
    assert fitted.labels_.shape == (n,) and set(np.unique(fitted.labels_)) <= {0, 1}
    assert np.isclose(fitted.labels_.mean(), 0.1, atol=0.05)
    assert np.isfinite(fitted.threshold_)
    assert fitted.input_shape_ == (T, 17, 3)
    assert fitted.n_features_in_ == T * 17 * 3
    assert fitted.n_epochs_ == 2
    assert len(fitted.history_["train_loss"]) == 2
    assert len(fitted.history_["validation_nll"]) == 2
    assert fitted.device_ == "cpu"
    assert fitted.curvature_ == pytest.approx(1.0)
    assert not fitted.model_.training
    # the training scores are the scores of the training segments (mirrors excluded)
    np.testing.assert_allclose(fitted.decision_function(X_train), fitted.decision_scores_)


def test_fit_returns_self_and_accepts_labels(X_train):
    det = tiny(epochs=1)
    y = np.zeros(len(X_train), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert det.fit(X_train, y) is det
    with pytest.raises(ValueError, match="y has 3 entries but X has 48 segments"):
        tiny(epochs=1).fit(X_train, y[:3])


def test_failed_refit_leaves_an_unfitted_estimator(X_train):
    det = tiny(epochs=1).fit(X_train)
    with pytest.raises(ValueError, match="16 joints"):
        det.fit(X_train[:, :, :16])
    with pytest.raises(NotFittedError):
        det.decision_function(X_train)
    assert not [k for k in vars(det) if k.endswith("_")]


def test_euclidean_space_has_no_curvature(X_train):
    det = tiny(space="euclidean", epochs=1).fit(X_train)
    assert det.curvature_ is None


def test_predict_family_on_4d(fitted, X_train):
    X = X_train[:6]
    labels = fitted.predict(X)
    assert labels.shape == (6,) and set(np.unique(labels)) <= {0, 1}
    proba = fitted.predict_proba(X)
    assert proba.shape == (6, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    conf = fitted.predict_confidence(X)
    assert conf.shape == (6,) and ((conf >= 0) & (conf <= 1)).all()
    labels2, _ = fitted.predict(X, return_confidence=True)
    np.testing.assert_array_equal(labels, labels2)
    scores = fitted.decision_function(X)
    np.testing.assert_array_equal(labels, (scores > fitted.threshold_).astype(int))
    order = np.argsort(scores)
    assert (np.diff(proba[order, 1]) >= 0).all()  # more abnormal, more likely an outlier


def _flow_nll(det: DSNFDetector, X: np.ndarray) -> np.ndarray:
    """The NLL (bits/dim) straight from the flow's own log-density, not via joint_nll."""
    from pyod_dsnf.detector._validation import check_segments, prepare_segments

    X4 = check_segments(X, det.graph_, flat_channels=det.flat_channels)
    data = torch.from_numpy(prepare_segments(X4, normalize=det.normalize))
    with torch.no_grad():
        return det.model_.nll_bpd(data).double().numpy()


def test_score_samples_is_the_flow_log_likelihood(fitted, X_train):
    X = X_train[:5]
    log_lik = fitted.score_samples(X)
    np.testing.assert_allclose(log_lik, -_flow_nll(fitted, X), rtol=1e-5)
    assert fitted.score(X) == pytest.approx(-_flow_nll(fitted, X).mean(), rel=1e-5)
    # with the statistics set to mean 0 and std 1 the joint score is the largest share
    unit = with_standardiser(fitted, 0.0, 1.0)
    np.testing.assert_allclose(unit.decision_function(X), unit.joint_nll(X).max(axis=1))
    half = with_standardiser(fitted, 0.0, 2.0)
    np.testing.assert_allclose(half.decision_function(X), unit.joint_nll(X).max(axis=1) / 2)


def test_nll_anomaly_score_is_the_flow_nll(X_train):
    det = tiny(anomaly_score="nll").fit(X_train)
    np.testing.assert_allclose(det.decision_function(X_train[:5]), _flow_nll(det, X_train[:5]),
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(det.decision_scores_, _flow_nll(det, X_train), rtol=1e-5)


def test_joint_statistics_describe_the_training_segments(fitted, X_train):
    # checked with the statistics module (exactly rounded sums), not numpy's mean/std
    joint = fitted.joint_nll(X_train)
    for j in range(joint.shape[1]):
        column = joint[:, j].tolist()
        assert fitted.joint_nll_mean_[j] == pytest.approx(statistics.fmean(column), rel=1e-12)
        assert fitted.joint_nll_std_[j] == pytest.approx(statistics.pstdev(column), rel=1e-9)


def test_flattened_and_torch_inputs_score_the_same(fitted, X_train):
    X = X_train[:7]
    ref = fitted.decision_function(X)
    np.testing.assert_allclose(fitted.decision_function(X.reshape(7, -1)), ref)
    np.testing.assert_allclose(fitted.decision_function(torch.from_numpy(X)), ref)
    np.testing.assert_allclose(fitted.decision_function(np.asfortranarray(X)), ref)
    # float32 input rounds the coordinates; the joint score's standardisation magnifies it
    np.testing.assert_allclose(fitted.decision_function(X.astype(np.float32)), ref, rtol=1e-4)


def test_integer_and_half_precision_input_score_finite(fitted, X_train):
    for dtype in (np.int64, np.int32, np.float16):
        X = X_train[:4].copy()
        X[..., 2] = 1.0
        assert np.isfinite(fitted.decision_function(X.astype(dtype))).all()


def test_confidence_channel_is_not_modelled(X_train):
    with_conf = tiny(epochs=1).fit(X_train)
    without = tiny(epochs=1).fit(X_train[..., :2])
    np.testing.assert_array_equal(with_conf.decision_scores_, without.decision_scores_)


def test_fit_on_flattened_input_uses_flat_channels(X_train):
    det = tiny(epochs=1, flat_channels=3).fit(X_train.reshape(len(X_train), -1))
    assert det.input_shape_ == (T, 17, 3)
    det2 = tiny(epochs=1).fit(X_train[..., :2].reshape(len(X_train), -1))
    assert det2.input_shape_ == (T, 17, 2)
    # the flattened segments are the same segments: the same fit, bit for bit
    four_d = tiny(epochs=1).fit(X_train)
    np.testing.assert_array_equal(det.decision_scores_, four_d.decision_scores_)


def test_scores_do_not_depend_on_batch_composition(fitted, X_train):
    full = fitted.decision_function(X_train)
    order = np.random.default_rng(1).permutation(len(X_train))
    np.testing.assert_allclose(fitted.decision_function(X_train[order]), full[order], rtol=1e-5)
    np.testing.assert_allclose(fitted.decision_function(X_train[:5]), full[:5], rtol=1e-5)


def test_scoring_leaves_the_estimator_unchanged(fitted, X_train):
    before = {k: v for k, v in fitted.__dict__.items() if k != "model_"}
    weights = {k: v.clone() for k, v in fitted.model_.state_dict().items()}
    fitted.decision_function(X_train[:4])
    fitted.predict(X_train[:4])
    after = {k: v for k, v in fitted.__dict__.items() if k != "model_"}
    assert before.keys() == after.keys()
    for k in before:
        assert before[k] is after[k], k
    for k, v in fitted.model_.state_dict().items():
        torch.testing.assert_close(v, weights[k])


# ---------------------------------------------------------------- the detector detects
def test_injected_anomalies_score_higher():
    X = walking_segments(160, T, seed=0)
    normal = walking_segments(40, T, seed=1)
    abnormal = limb_swapped(walking_segments(40, T, seed=2))
    det = DSNFDetector(
        n_flow_steps=2, hidden_channels=8, epochs=5, batch_size=16, lr=1e-2, awam_lambda=0.0,
        random_state=0, device="cpu",
    ).fit(X)  # fmt: skip
    scores = det.decision_function(np.concatenate([normal, abnormal]))
    auc = roc_auc_score(np.r_[np.zeros(40), np.ones(40)], scores)
    assert auc > 0.9, auc


def test_normalization_makes_scores_translation_and_scale_invariant(fitted, X_train):
    X = X_train[:6]
    moved = X.copy()
    moved[..., :2] = 3.5 * moved[..., :2] + np.array([-400.0, 250.0])
    np.testing.assert_allclose(
        fitted.decision_function(moved), fitted.decision_function(X), rtol=1e-4, atol=1e-4
    )


def test_missing_joints_with_zero_confidence_are_imputed(fitted, X_train):
    X = X_train[:4].copy()
    X[0, 2, 9, :2] = np.nan
    X[0, 2, 9, 2] = 0.0
    X[1, :, 3, :2] = np.inf
    X[1, :, 3, 2] = 0.0
    scores = fitted.decision_function(X)
    assert np.isfinite(scores).all()


# ---------------------------------------------------------------- determinism
def test_same_random_state_same_scores_and_global_rng_untouched(X_train):
    np_state = np.random.get_state()  # noqa: NPY002 - the global state is the subject
    torch_state = torch.random.get_rng_state()
    a = tiny(random_state=3).fit(X_train).decision_scores_
    b = tiny(random_state=3).fit(X_train).decision_scores_
    c = tiny(random_state=4).fit(X_train).decision_scores_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_random_state_none_leaves_global_rng_untouched(X_train):
    np_state = np.random.get_state()  # noqa: NPY002 - the global state is the subject
    torch_state = torch.random.get_rng_state()
    tiny(random_state=None, epochs=1).fit(X_train)
    assert np.array_equal(np.random.get_state()[1], np_state[1])  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_fit_does_not_change_torch_threads(X_train):
    before = torch.get_num_threads()
    tiny(epochs=1).fit(X_train)
    assert torch.get_num_threads() == before


# ---------------------------------------------------------------- training controls
def test_early_stopping_and_history(X_train):
    det = tiny(epochs=6, n_iter_no_change=1, tol=1e6).fit(X_train)
    assert det.n_epochs_ == 2  # epoch 1 sets the best, epoch 2 fails to beat it by tol
    assert len(det.history_["train_loss"]) == det.n_epochs_
    no_val = tiny(epochs=2, validation_fraction=0.0).fit(X_train)
    assert no_val.history_["validation_nll"] == []


def test_early_stopping_keeps_the_best_epochs_weights(X_train):
    from pyod_dsnf.detector._device import seeds_from
    from pyod_dsnf.detector._training_data import training_sets
    from pyod_dsnf.detector._validation import check_segments, prepare_segments
    from pyod_dsnf.detector.orientation import detector_rotation, rotate_segments

    det = tiny(epochs=12, n_iter_no_change=2, lr=0.2, tol=0.0).fit(X_train)
    history = det.history_["validation_nll"]
    assert history[-1] > min(history) + 1e-3  # the last epoch is not the best one
    # this fit's hold-out, rebuilt from random_state as fit draws it
    _, rng = seeds_from(det.random_state)
    X4 = check_segments(X_train, det.graph_, flat_channels=det.flat_channels)
    data = rotate_segments(prepare_segments(X4, normalize=True), detector_rotation(det))
    _, val = training_sets(data, det.graph_, validation_fraction=det.validation_fraction,
                           augment=True, normalized=True, rng=rng)  # fmt: skip
    with torch.no_grad():
        held_out = det.model_.nll_bpd(torch.from_numpy(val)).double().mean().item()
    assert held_out == pytest.approx(min(history), rel=1e-5)


def test_too_few_segments_for_validation_warns():
    X = walking_segments(2, T, seed=0)
    with pytest.warns(UserWarning, match="too few for validation_fraction"):
        det = tiny(epochs=1).fit(X)
    assert det.history_["validation_nll"] == []


def test_verbose_shows_a_progress_bar_and_zero_is_silent(X_train, capsys):
    tiny(epochs=1, verbose=0).fit(X_train)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    tiny(epochs=1, verbose=1).fit(X_train)
    assert "DSNF fit" in capsys.readouterr().err


def test_nan_training_loss_raises_floating_point_error(X_train):
    # Adam's first step at lr=1e4 moves every weight by about 1e4: the next batch's loss
    # overflows on any CPU (no patched loss needed)
    with pytest.raises(FloatingPointError, match=r"training loss became (nan|inf).*lower lr"):
        tiny(lr=1e4, epochs=1).fit(X_train)


# A CUDA device that no machine has: index device_count (cuda:0 without CUDA, cuda:1 on one GPU).
ABSENT = f"cuda:{torch.cuda.device_count()}"


def test_cuda_requested_without_that_device_is_a_clear_error(X_train):
    with pytest.raises(ValueError, match=r"CUDA is not available here|CUDA device\(s\) exist"):
        tiny(device=ABSENT).fit(X_train)


def test_detector_fitted_on_an_absent_gpu_scores_on_cpu_here(fitted, X_train):
    moved = pickle.loads(pickle.dumps(fitted))
    moved.device_ = ABSENT  # as unpickled from a machine with more GPUs (weights on the CPU)
    with pytest.warns(UserWarning, match=f"trained on {ABSENT}, which is not available here"):
        scores = moved.decision_function(X_train[:4])
    np.testing.assert_array_equal(scores, fitted.decision_function(X_train[:4]))
    assert moved.device_ == "cuda:0"  # scoring does not rewrite the fitted state


def test_unpickling_a_detector_of_an_absent_gpu_warns_and_moves_it_to_the_cpu(fitted, X_train):
    fitted.device_, before = ABSENT, fitted.device_  # pickled on a machine with that GPU
    try:
        data = pickle.dumps(fitted)
    finally:
        fitted.device_ = before
    with pytest.warns(UserWarning, match=f"unpickled a detector trained on {ABSENT}"):
        moved = pickle.loads(data)
    assert moved.device_ == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning when scoring
        np.testing.assert_array_equal(
            moved.decision_function(X_train[:4]), fitted.decision_function(X_train[:4])
        )


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda X: X[0], ValueError, r"3-D array .* pass X\[None\]"),
        (lambda X: X[:, 0, 0, 0], ValueError, "4-D .* or 2-D"),
        (lambda X: X[:, :, :16], ValueError, "16 joints .* expects 17"),
        (lambda X: np.concatenate([X, X[:, :, :1]], axis=2), ValueError, "openpose18"),
        (lambda X: np.concatenate([X, X[..., :1]], axis=-1), ValueError, "C = 4"),
        (lambda X: X[:, :2], ValueError, r"temporal_kernel=3 is longer .* \(n_frames=2\)"),
        (lambda X: X[:1], ValueError, "1 sample"),
        (lambda X: X.reshape(len(X), -1)[:, :-1], ValueError, "not a multiple of V"),
        (lambda X: X.astype(str), TypeError, "must hold numbers"),
        (lambda X: X > 0, TypeError, "booleans"),
    ],
)
def test_bad_input_to_fit(X_train, make, error, match):
    with pytest.raises(error, match=match):
        tiny().fit(make(X_train))


def test_nan_coordinates_rule(X_train):
    X = X_train.copy()
    X[3, 1, 4, 0] = np.nan  # confidence > 0: not allowed
    with pytest.raises(ValueError, match="segment 3, frame 1, joint 4"):
        tiny().fit(X)
    X2 = X_train[..., :2].copy()
    X2[0, 0, 0, 1] = np.inf  # no confidence channel: never allowed
    with pytest.raises(ValueError, match="C = 2"):
        tiny().fit(X2)
    X3 = X_train.copy()
    X3[5, 2, 2, 2] = np.nan
    with pytest.raises(ValueError, match="confidence value"):
        tiny().fit(X3)
    X4 = X_train.copy()
    X4[7, ..., 2] = 0.0
    with pytest.raises(ValueError, match="without any joint of confidence > 0"):
        tiny().fit(X4)


def test_training_data_without_variation_is_refused():
    with pytest.raises(ValueError, match="do not vary"):
        tiny().fit(np.ones((20, T, 17, 2)))


def test_decision_function_checks(fitted, X_train):
    with pytest.raises(NotFittedError):
        tiny().decision_function(X_train)
    with pytest.raises(ValueError, match=r"fitted on \(8, 17, 3\)"):
        fitted.decision_function(X_train[:, :6])
    with pytest.raises(ValueError, match=r"fitted on \(8, 17, 3\)"):
        fitted.decision_function(X_train[..., :2])
    with pytest.raises(ValueError, match="X has 10 features, but DSNFDetector is expecting 408"):
        fitted.decision_function(np.zeros((3, 10)))
    bad = X_train[:2].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf coordinates"):
        fitted.decision_function(bad)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("contamination", 0.7, r"contamination must be a float in \(0, 0.5\] .*got 0.7"),
        ("layout", "coco18", "layout must be one of"),
        ("space", "spherical", "space must be one of"),
        ("permutation", "random", "permutation must be one of"),
        ("curvature", 0.0, "curvature must be a finite float > 0"),
        ("temporal_kernel", 2, "temporal_kernel must be odd"),
        ("epochs", 0, "epochs must be an integer >= 1"),
        ("batch_size", 2.5, "batch_size must be 'auto' or an integer"),
        ("lr", -1.0, "lr must be"),
        ("anomaly_score", "max", "anomaly_score must be one of"),
        ("noise_std", -0.1, "noise_std must be a finite number >= 0.0"),
        ("noise_std", float("inf"), "noise_std must be"),
        ("validation_fraction", 1.0, "validation_fraction must be"),
        ("n_iter_no_change", 0, "n_iter_no_change must be"),
        ("flat_channels", 4, r"flat_channels must be one of \(2, 3\), got 4"),
        ("normalize", "yes", "normalize must be True or False"),
        ("device", "tpu", "device must be 'auto' or a torch device"),
        ("random_state", "seed", "random_state must be"),
    ],
)
def test_bad_parameters_fail_in_fit_not_init(X_train, param, value, match):
    det = tiny(**{param: value})  # __init__ only stores
    assert getattr(det, param) == value
    with pytest.raises(ValueError, match=match):
        det.fit(X_train)


# ---------------------------------------------------------------- sklearn integration
def test_clone_get_set_params():
    det = tiny(curvature=0.5)
    params = det.get_params()
    assert params["curvature"] == 0.5 and params["n_flow_steps"] == 2
    twin = clone(det)
    assert twin.get_params() == params
    twin.set_params(curvature=2.0, space="euclidean")
    assert twin.curvature == 2.0 and det.curvature == 0.5


def test_pipeline(X_train):
    pipe = Pipeline([("identity", FunctionTransformer()), ("dsnf", tiny(epochs=1))])
    pipe.fit(X_train)
    alone = tiny(epochs=1).fit(X_train)
    np.testing.assert_array_equal(pipe.decision_function(X_train[:3]),
                                  alone.decision_function(X_train[:3]))  # fmt: skip
    np.testing.assert_array_equal(pipe.predict(X_train[:3]), alone.predict(X_train[:3]))


def test_grid_search_over_curvature_unsupervised(X_train):
    search = GridSearchCV(tiny(epochs=1), {"curvature": [0.1, 1.0]}, cv=2)
    search.fit(X_train)
    assert search.best_params_["curvature"] in (0.1, 1.0)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_grid_search_over_curvature_with_labels():
    normal = walking_segments(30, T, seed=5)
    abnormal = limb_swapped(walking_segments(10, T, seed=6))
    X = np.concatenate([normal, abnormal])
    y = np.r_[np.zeros(30), np.ones(10)].astype(int)
    search = GridSearchCV(
        tiny(epochs=1),
        {"curvature": [0.1, 1.0]},
        scoring="roc_auc",
        cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()


def test_pickle_and_joblib_round_trip(fitted, X_train, tmp_path):
    ref = fitted.decision_function(X_train[:5])
    clone_ = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone_.decision_function(X_train[:5]), ref)
    joblib.dump(fitted, tmp_path / "det.joblib")
    loaded = joblib.load(tmp_path / "det.joblib")
    np.testing.assert_array_equal(loaded.decision_function(X_train[:5]), ref)
    unpickled = pickle.loads(pickle.dumps(fitted))
    assert all(p.device.type == "cpu" for p in unpickled.model_.parameters())


def test_custom_layout(X_train):
    graph = SkeletonGraph(name="arms", n_joints=5, edges=((0, 1), (1, 2), (0, 3), (3, 4)),
                          center=(0,), flip_pairs=((1, 3), (2, 4)))  # fmt: skip
    X = X_train[:, :, [5, 7, 9, 6, 8]]
    det = tiny(layout=graph, epochs=1).fit(X)
    assert det.input_shape_ == (T, 5, 3)
    with pytest.raises(ValueError, match=r"17 joints .* layout='arms' expects 5"):
        tiny(layout=graph).fit(X_train)


# ---------------------------------------------------------------- sklearn's own checks
# sklearn hands 2-D data of arbitrary width. The check instance reads it through a
# one-joint layout with normalize=False: 2-D input (n, F) is then n segments of
# T = F / 2 frames of one (x, y) joint, so even widths work and odd ones are refused.
_POINT = SkeletonGraph(name="point", n_joints=1, edges=(), center=(0,))
_WIDTH = "hands 3- or 5-feature data; 2-D input must be T*V*C wide (even for the 1-joint layout)"
EXPECTED_FAILED_CHECKS = {
    "check_fit_score_takes_y": _WIDTH,
    "check_dont_overwrite_parameters": _WIDTH,
    "check_estimators_dtypes": _WIDTH,
    "check_pipeline_consistency": _WIDTH,
    "check_estimators_nan_inf": _WIDTH,
    "check_estimators_pickle": _WIDTH,
    "check_f_contiguous_array_estimator": _WIDTH,
    "check_methods_sample_order_invariance": _WIDTH,
    "check_methods_subset_invariance": _WIDTH,
    "check_dict_unchanged": _WIDTH,
    "check_fit2d_predict1d": _WIDTH,
    "check_outliers_train": "PyOD labels inliers 0 and outliers 1, sklearn expects +1/-1",
    "check_outliers_fit_predict": "PyOD labels inliers 0 and outliers 1, sklearn expects +1/-1",
}


def _check_instance() -> DSNFDetector:
    return DSNFDetector(layout=_POINT, normalize=False, temporal_kernel=1, **TINY)


@parametrize_with_checks(
    [_check_instance()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.slow
def test_real_poselift_segments(poselift_path):
    from pyod_dsnf.datasets import load_dataset
    from pyod_dsnf.poses import segment_tracks

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*NaN joint confidences")
        ds = load_dataset(poselift_path)
    train = segment_tracks(ds.train, seg_len=12, stride=12).X
    test = segment_tracks(ds.test, seg_len=12, stride=12).X[:300]
    X = train[np.random.default_rng(0).permutation(len(train))[:300]]
    assert (X[..., 2] <= 0).any()  # real data has missing joints; the rule handles them
    det = tiny(batch_size=64).fit(X)  # raw pixel coordinates, confidence channel
    scores = det.decision_function(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    assert np.isfinite(det.history_["validation_nll"]).all()
