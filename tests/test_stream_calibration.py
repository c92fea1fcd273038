"""Thresholds from the model's held-out windows, the GPD tail, and warm-up age matching."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from pyod_dsnf import DSNFDetector
from pyod_dsnf.stream import (
    AgeMatch,
    StreamScorer,
    age_table,
    budget_threshold,
    calibrate_detector,
    causal_scores,
    match_ages,
    model_budget,
    tail_threshold,
)
from pyod_dsnf.stream.calibration import LEVELS
from tests._stream_helpers import SEG_LEN, dataset, detector, frames_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------- GPD tail
def test_tail_threshold_recovers_an_exponential_quantile():
    x = np.random.default_rng(0).exponential(size=5000)
    fit = tail_threshold(x, 1e-5)
    truth = -math.log(1e-5)  # 11.51: 50 times rarer than the rarest of 5,000 samples
    assert fit.interval[0] <= truth <= fit.interval[1]
    assert fit.interval[0] <= fit.threshold <= fit.interval[1]
    assert abs(fit.shape) < 0.2 and fit.n_excess == 100 and fit.poor == ""


def test_tail_threshold_flags_a_poor_fit():
    heavy = np.random.default_rng(1).pareto(1.2, size=3000)  # GPD shape 1/1.2 = 0.83
    assert "heavy tail" in tail_threshold(heavy, 1e-5).poor
    few = np.random.default_rng(2).exponential(size=30)
    assert "only" in tail_threshold(few, 1e-3).poor


@pytest.mark.parametrize(
    ("samples", "prob", "match"),
    [([1.0, 2.0], 0.1, "at least 3 finite"), ([1.0, 2.0, 3.0, 4.0], 0.0, r"tail_prob must")],
)
def test_tail_threshold_errors(samples, prob, match):
    with pytest.raises(ValueError, match=match):
        tail_threshold(np.asarray(samples), prob)


def test_budget_below_the_footage_extrapolates_episode_peaks():
    rng = np.random.default_rng(0)
    tracks = [(np.arange(2000), rng.exponential(size=2000)) for _ in range(10)]
    # 20,000 frames at 30 fps = 0.185 camera-hours: a budget of 1 per hour allows 0 alerts
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good fit: no warning
        with_warn = budget_threshold(tracks, 20000, alerts_per_hour=1.0, fps=30.0, min_gap=30)
    assert with_warn.method == "count + GPD" and with_warn.interval is not None
    lo, hi = with_warn.interval
    assert lo <= with_warn.threshold <= hi
    top = max(s.max() for _, s in tracks)
    assert with_warn.threshold > top - 1.0  # beyond nearly all the footage
    assert "generalised Pareto" in with_warn.describe() and "interval" in with_warn.describe()
    # a 10 times larger budget gives a lower threshold
    ten = budget_threshold(tracks, 20000, alerts_per_hour=10.0, fps=30.0, min_gap=30)
    assert ten.method == "count" and ten.threshold < with_warn.threshold


# -------------------------------------------------------------- model budget
def _fake(scores: np.ndarray, person_frames: int, camera_frames: int, t: int = 4):
    table = np.tile(np.quantile(scores, LEVELS), (t, 1))
    cal = {"scores": scores, "n_windows": 10 * scores.size, "camera_frames": camera_frames,
           "person_frames": person_frames, "age_quantiles": table}  # fmt: skip
    return SimpleNamespace(input_shape_=(t, 17, 3), calibration_=cal)


def test_model_budget_empirical_and_extrapolated():
    scores = np.random.default_rng(0).exponential(size=4000)
    # 108,000 camera-frames at 30 fps = 1 camera-hour, one person per frame
    det = _fake(scores, 108_000, 108_000)
    # 54 exceedances per hour allowed = 1/2000 of the person-frames: 2 of 4000 windows
    b = model_budget(det, alerts_per_hour=54.0, fps=30.0)
    assert b.method == "held-out" and b.n_allowed == 2 and b.n_alerts <= 2
    assert b.threshold == np.sort(scores)[::-1][2]
    one = model_budget(det, alerts_per_hour=1.0, fps=30.0)
    assert one.method == "held-out + GPD" and one.threshold > b.threshold
    assert one.interval[0] <= -math.log(1 / 108_000) <= one.interval[1]
    assert "held-out windows" in one.describe()


def test_model_budget_without_calibration_says_pass_normal():
    det = SimpleNamespace(input_shape_=(4, 17, 3))
    with pytest.raises(ValueError, match="--normal"):
        model_budget(det, alerts_per_hour=1.0, fps=30.0)
    det.calibration_ = {"scores": np.zeros(1)}
    with pytest.raises(ValueError, match="malformed"):
        model_budget(det, alerts_per_hour=1.0, fps=30.0)


# ---------------------------------------------------------------- age match
def test_age_match_maps_each_age_onto_full_windows():
    rng = np.random.default_rng(0)
    t = 5
    ages = np.repeat(np.arange(1, t + 1), 4000)
    scores = rng.normal(size=ages.size) + 3.0 * (t - ages)  # young windows score higher
    match = AgeMatch(age_table(scores, ages, t))
    out = match(scores, ages)
    for a in range(1, t + 1):
        m = ages == a
        # matched young scores have the full windows' quantiles (up to the table's 1 % grid)
        np.testing.assert_allclose(np.quantile(out[m], [0.1, 0.5, 0.9]),
                                   np.quantile(scores[ages == t], [0.1, 0.5, 0.9]),
                                   atol=0.1)  # fmt: skip
        assert (np.diff(out[m][np.argsort(scores[m])]) >= 0).all()  # monotone per age
    np.testing.assert_array_equal(out[ages == t], scores[ages == t])
    # beyond the table: shifted by the outermost quantiles' difference
    far = match(np.array([100.0]), np.array([1]))[0]
    assert far == pytest.approx(100.0 - 3.0 * (t - 1), abs=0.5)


def test_age_match_errors():
    with pytest.raises(ValueError, match="shape"):
        AgeMatch(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="full windows"):
        AgeMatch(np.full((3, LEVELS.size), np.nan))
    with pytest.raises(TypeError, match="age_match must be callable"):
        StreamScorer(detector(), age_match=3)


# -------------------------------------------- calibrated detector end to end
@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from pyod_dsnf.poses import fill_gaps, segment_tracks

    train, _ = fill_gaps(dataset().train)
    seg = segment_tracks(train, seg_len=SEG_LEN, stride=4)
    det = DSNFDetector(n_flow_steps=2, hidden_channels=4, epochs=1, batch_size=32,
                       random_state=0, device="cpu").fit(seg.X)  # fmt: skip
    cams = sum(c.last_frame + 1 for c in train)
    people = sum(len(t) for c in train for t in c.tracks)
    calibrate_detector(det, seg.X, camera_frames=cams, person_frames=people)
    path = tmp_path_factory.mktemp("model") / "cal.dsnf"
    det.save(path)
    return det, path


def test_calibration_is_saved_and_loaded(calibrated):
    det, path = calibrated
    cal = det.calibration_
    assert cal["scores"].shape == det.validation_index_.shape
    np.testing.assert_array_equal(cal["scores"], det.decision_scores_[det.validation_index_])
    assert cal["age_quantiles"].shape == (SEG_LEN, LEVELS.size)
    back = DSNFDetector.load(path).calibration_
    assert back.keys() == cal.keys()
    for k, v in cal.items():
        np.testing.assert_array_equal(back[k], v)
    with pytest.warns(UserWarning, match="poor"):  # 14 held-out windows: a poor tail fit
        a = model_budget(DSNFDetector.load(path), alerts_per_hour=5.0, fps=15.0)
        b = model_budget(det, alerts_per_hour=5.0, fps=15.0)
    assert a.threshold == b.threshold


def test_calibrate_detector_errors(calibrated):
    det, _ = calibrated
    with pytest.raises(ValueError, match="camera_frames must be an integer >= 1"):
        calibrate_detector(det, np.zeros((2, SEG_LEN, 17, 3)), camera_frames=0, person_frames=1)
    bare = DSNFDetector(validation_fraction=0.0)
    bare.validation_index_ = np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="held out fewer than 2"):
        calibrate_detector(bare, np.zeros((2, SEG_LEN, 17, 3)), camera_frames=1,
                           person_frames=1)  # fmt: skip


def test_stream_with_age_match_equals_offline_matched_scores(calibrated):
    det, _ = calibrated
    match = match_ages(det)
    clip = dataset().test[0]
    seg, raw = causal_scores(det, clip)
    want = match(raw, seg.length)
    scorer = StreamScorer(det, age_match=match)
    got = {}
    for f, people in frames_of(clip).items():
        for r in scorer.update("c", f, people):
            got[(r.person, r.frame)] = r.score
    off = {(int(p), int(s + n - 1)): v
           for p, s, n, v in zip(seg.person, seg.start, seg.length, want, strict=True)}  # fmt: skip
    assert got.keys() == off.keys()
    np.testing.assert_allclose([got[k] for k in off], list(off.values()), rtol=1e-5, atol=1e-5)
    full = seg.length == SEG_LEN
    np.testing.assert_array_equal(want[full], raw[full])  # full windows keep their score


def test_matched_warm_up_windows_exceed_a_threshold_as_often_as_full_windows():
    """No age of a track is more (or less) likely to cross the threshold on normal footage."""
    from pyod_dsnf.datasets import make_pose_tracks

    det = detector()
    ref = make_pose_tracks(20, 0, n_frames=(80, 100), random_state=1).train  # table from here
    new = make_pose_tracks(20, 0, n_frames=(80, 100), random_state=2).train  # checked here
    s_ref, r_ref = causal_scores(det, ref)
    seg, raw = causal_scores(det, new)
    matched = AgeMatch(age_table(r_ref, s_ref.length, SEG_LEN))(raw, seg.length)
    full = seg.length == SEG_LEN
    thr = np.quantile(raw[full], 0.9)
    p = float((matched[full] > thr).mean())
    for age in range(1, SEG_LEN):
        k = seg.length == age
        share = float((matched[k] > thr).mean())
        # binomial spread of the share at this age plus that of the table's own 1 % grid
        tol = 4 * math.sqrt(p * (1 - p) / k.sum()) + 4 * math.sqrt(p * (1 - p) / (~full).sum())
        assert abs(share - p) <= tol, (age, share, p)
    young = ~full  # all warm-up ages pooled: a tighter check
    share = float((matched[young] > thr).mean())
    assert abs(share - p) <= 4 * math.sqrt(p * (1 - p) / young.sum()), (share, p)
    raw_share = float((raw[young] > thr).mean())  # unmatched, this tiny model's differ
    assert abs(raw_share - p) > 4 * math.sqrt(p * (1 - p) / young.sum()), (raw_share, p)
