import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from pyod_dsnf.evaluation import auc_pr, auc_roc, equal_error_rate, macro_auc_roc, pool_frames

MASKS = {"a": np.array([0, 0, 1, 1, 0]), "b": np.array([1, 0, 0]), "c": np.array([0, 0])}
SCORES = {"a": np.array([0.1, 0.4, 0.35, 0.8, 0.2]), "b": np.array([0.3, 0.9, 0.05]),
          "c": np.array([0.6, 0.0])}  # fmt: skip
Y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 0])
S = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.3, 0.9, 0.05, 0.6, 0.0])


def test_pooling_follows_mask_order():
    y, s = pool_frames(SCORES, MASKS)
    np.testing.assert_array_equal(y, Y)
    np.testing.assert_array_equal(s, S)
    keep = {"a": np.array([1, 1, 0, 1, 0], bool), "b": np.ones(3, bool), "c": np.zeros(2, bool)}
    y, s = pool_frames(SCORES, MASKS, keep)
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(s, [0.1, 0.4, 0.8, 0.3, 0.9, 0.05])


def test_against_sklearn():
    assert auc_roc(SCORES, MASKS) == pytest.approx(roc_auc_score(Y, S))
    assert auc_pr(SCORES, MASKS) == pytest.approx(average_precision_score(Y, S))
    macro, n = macro_auc_roc(SCORES, MASKS)
    per_clip = [roc_auc_score(MASKS[c], SCORES[c]) for c in ("a", "b")]
    assert n == 2 and macro == pytest.approx(np.mean(per_clip))


def test_hand_computed_auc():
    # anomalous 0.35, 0.8, 0.3 against 7 normal scores: pairs won = 4 + 7 + 3 = 14 of 21
    assert auc_roc(SCORES, MASKS) == pytest.approx(14 / 21)


def test_eer_hand_cases():
    perfect = {"x": np.array([0.0, 0.1, 0.9, 1.0])}
    assert equal_error_rate(perfect, {"x": np.array([0, 0, 1, 1])}) == 0.0
    inverted = {"x": np.array([1.0, 0.9, 0.1, 0.0])}
    assert equal_error_rate(inverted, {"x": np.array([0, 0, 1, 1])}) == 1.0
    # scores 1..4, labels 0 1 0 1: at threshold 3 FPR = FNR = 1/2
    assert equal_error_rate({"x": np.arange(1.0, 5)}, {"x": np.array([0, 1, 0, 1])}) == 0.5


def test_eer_lies_where_fpr_meets_fnr():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = y + rng.normal(size=500)
    e = equal_error_rate({"x": s}, {"x": y})
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1 - tpr
    i = np.argmin(np.abs(fnr - fpr))
    assert abs(e - (fpr[i] + fnr[i]) / 2) < 0.01
    assert 0.2 < e < 0.4


def test_one_class_gives_nan_with_warning():
    with pytest.warns(UserWarning, match="only one class"):
        assert np.isnan(auc_roc({"c": np.zeros(2)}, {"c": np.zeros(2)}))
    with pytest.warns(UserWarning, match="no clip holds both classes"):
        assert np.isnan(macro_auc_roc({"c": np.zeros(2)}, {"c": np.zeros(2)})[0])


@pytest.mark.parametrize(
    ("scores", "frames", "match"),
    [
        ({"a": np.zeros(5)}, None, "scores has no entry for clip 'b'"),
        ({**SCORES, "a": np.zeros(4)}, None, r"scores\['a'\] has shape \(4,\)"),
        ({**SCORES, "a": np.full(5, np.nan)}, None, "non-finite"),
        (SCORES, {"a": np.ones(2, bool)}, r"frames\['a'\] has shape \(2,\)"),
    ],
)
def test_bad_input(scores, frames, match):
    with pytest.raises(ValueError, match=match):
        pool_frames(scores, MASKS, frames)
