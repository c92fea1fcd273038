"""Alert episodes and false-alarm budget thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.stream import (
    AlertRule,
    StreamScorer,
    budget_threshold,
    causal_tracks,
    count_alerts,
)
from tests._stream_helpers import dataset, detector, frames_of


def _run(rule, frames, scores):
    active, last, out = False, 0, []
    for f, s in zip(frames, scores, strict=True):
        alert, active, last = rule.step(active, last, f, s)
        out.append(alert)
    return out


def test_one_alert_per_episode_by_hand():
    rule = AlertRule(1.0, min_gap=3)
    frames = list(range(12))
    scores = [0, 2, 2, 0, 2, 0, 0, 0, 0, 2, 2, 0]
    # 1-4: one episode (gap 2 <= 3); 9 starts a new one (4 frames after the last high score)
    assert _run(rule, frames, scores) == [i in (1, 9) for i in frames]
    assert count_alerts([(np.array(frames), np.array(scores))], rule) == 2


def test_hysteresis_keeps_an_episode_going():
    frames = list(range(10))
    scores = [2, 0.8, 0.8, 0.8, 0.8, 0.8, 2, 0, 0, 0]
    assert sum(_run(AlertRule(1.0, min_gap=2), frames, scores)) == 2
    assert sum(_run(AlertRule(1.0, min_gap=2, hysteresis=0.5), frames, scores)) == 1


def test_min_gap_counts_frames_not_scores():
    # scored frames 0 and 100 of one person (unscored in between): two episodes at min_gap 30
    assert _run(AlertRule(0.0, min_gap=30), [0, 100], [1, 1]) == [True, True]
    assert _run(AlertRule(0.0, min_gap=100), [0, 100], [1, 1]) == [True, False]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"threshold": float("nan")}, "threshold must be a number"),
        ({"threshold": "1"}, "threshold must be a number"),
        ({"threshold": 1.0, "min_gap": -1}, "min_gap must be an integer >= 0"),
        ({"threshold": 1.0, "hysteresis": -0.1}, "hysteresis must be a finite number >= 0"),
    ],
)
def test_rule_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        AlertRule(**kw)


def _tracks(seed=0, n=20, length=300):
    rng = np.random.default_rng(seed)
    return [(np.arange(length), rng.normal(size=length)) for _ in range(n)]


def test_budget_threshold_is_the_lowest_that_fits():
    tracks = _tracks()
    n_frames = 20 * 300  # 6,000 frames at 1 fps = 1.67 camera-hours
    b = budget_threshold(tracks, n_frames, alerts_per_hour=3.0, fps=1.0, min_gap=10)
    assert b.n_allowed == 5 and b.hours == pytest.approx(6000 / 3600)
    assert b.n_alerts <= 5 and count_alerts(tracks, b.rule) == b.n_alerts
    lower = np.unique(np.concatenate([s for _, s in tracks]))
    below = lower[lower < b.threshold][-1]  # the next lower observed score breaks the budget
    assert count_alerts(tracks, AlertRule(below, min_gap=10)) > 5
    # a larger budget gives a lower threshold, a longer min_gap fewer alerts at a threshold
    assert budget_threshold(tracks, n_frames, alerts_per_hour=30.0, fps=1.0).threshold < (
        b.threshold)


def test_budget_too_small_for_the_footage_warns():
    tracks = _tracks(n=2, length=100)
    with pytest.warns(UserWarning, match="too little for a budget"):
        b = budget_threshold(tracks, 200, alerts_per_hour=1.0, fps=30.0)
    assert b.n_allowed == 0 and b.n_alerts == 0
    assert b.threshold > max(s.max() for _, s in tracks)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"alerts_per_hour": -1.0}, "alerts_per_hour must be a finite number >= 0"),
        ({"fps": 0.0}, "fps must be a finite number > 0"),
        ({"n_frames": 0}, "n_frames must be an integer >= 1"),
        ({"tracks": []}, "tracks hold no scores"),
    ],
)
def test_budget_errors(kw, match):
    args = {"tracks": _tracks(n=1), "n_frames": 300, **kw}
    with pytest.raises(ValueError, match=match):
        budget_threshold(args.pop("tracks"), args.pop("n_frames"), **args)


@pytest.mark.usefixtures("one_torch_thread")
def test_streamed_alerts_follow_the_rule_on_the_streamed_scores():
    det = detector()
    clip = dataset().test[0]
    scorer = StreamScorer(det, threshold="contamination", min_gap=5)
    assert scorer.rule.threshold == det.threshold_
    records = [r for f, p in frames_of(clip).items() for r in scorer.update("c", f, p)]
    assert len(records) > 50
    for person in {r.person for r in records}:
        # warm-up windows shorter than alert_after are scored but never alert
        assert not any(r.alert for r in records if r.history < scorer.alert_after)
        mine = [r for r in records if r.person == person and r.history >= scorer.alert_after]
        expected = _run(scorer.rule, [r.frame for r in mine], [r.score for r in mine])
        assert [r.alert for r in mine] == expected
    assert scorer.stats["n_alerts"] == sum(r.alert for r in records)
    n_high = sum(r.score > det.threshold_ for r in records)
    assert 0 < scorer.stats["n_alerts"] < n_high  # once per episode, not once per frame


@pytest.mark.usefixtures("one_torch_thread")
def test_young_tracks_alert_only_from_alert_after_frames():
    det = detector()
    clip = dataset().test[0]
    for after in (1, 4, det.input_shape_[0]):
        scorer = StreamScorer(det, threshold=-1e9, min_gap=10**6, alert_after=after)
        recs = [r for f, p in frames_of(clip).items() for r in scorer.update("c", f, p)]
        first = {}
        for r in recs:
            if r.alert:
                first.setdefault(r.person, r.history)
        assert set(first.values()) == {after}  # the first window long enough alerts
    with pytest.raises(ValueError, match="alert_after must be <= seg_len"):
        StreamScorer(det, alert_after=det.input_shape_[0] + 1)


@pytest.mark.usefixtures("one_torch_thread")
def test_budget_from_normal_clips_drives_the_scorer():
    det = detector()
    tracks, n_frames = causal_tracks(det, dataset().train, alert_after=det.input_shape_[0] // 2)
    budget = budget_threshold(tracks, n_frames, alerts_per_hour=500.0, fps=15.0, min_gap=5)
    assert budget.n_allowed >= 1 and budget.n_alerts <= budget.n_allowed
    scorer = StreamScorer(det, threshold=budget, min_gap=5)
    assert scorer.rule.threshold == budget.threshold
    # streaming the same normal clips raises exactly the alerts counted on them
    n = 0
    for clip in dataset().train:
        s = StreamScorer(det, threshold=budget, min_gap=5)
        n += sum(r.alert for f, p in frames_of(clip).items() for r in s.update("c", f, p))
    assert n == budget.n_alerts
