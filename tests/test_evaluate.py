import warnings

import numpy as np
import pytest

from pyod_dsnf.datasets import load_dataset, make_pose_tracks
from pyod_dsnf.evaluation import auc_roc, evaluate, frame_scores
from pyod_dsnf.poses import fill_gaps, segment_tracks


@pytest.fixture(scope="module")
def synth():
    ds = make_pose_tracks(n_train_clips=1, n_test_clips=6, random_state=3)
    test, _ = fill_gaps(ds.test)
    return ds, test, segment_tracks(test, seg_len=12, pad_short=True)


def test_evaluate_is_consistent_with_its_parts(synth):
    ds, test, seg = synth
    scores = np.abs(np.diff(seg.X[..., :2], axis=1)).mean(axis=(1, 2, 3))
    res = evaluate(scores, seg, ds.masks, test, mode="person", n_random=3)
    fs = frame_scores(scores, seg, ds.masks, mode="person")
    assert res.auc_roc == pytest.approx(auc_roc(fs, ds.masks))
    tracked = {c.clip_id: c.tracked_frames(len(ds.masks[c.clip_id])) for c in test}
    assert res.auc_roc_person_frames == pytest.approx(auc_roc(fs, ds.masks, tracked))
    assert res.n_frames == ds.n_test_frames and res.n_anomalous == ds.n_anomalous_frames
    assert res.n_person_frames == sum(int(t.sum()) for t in tracked.values())
    assert res.n_scored_frames == res.n_person_frames  # person mode + padding scores them all
    assert 0 <= res.eer <= 1 and 0 <= res.auc_pr <= 1
    assert 0.3 < res.random_auc_roc_person_frames < 0.7
    assert "person frames" in res.summary() and "auc_roc_macro" in res.as_dict()
    again = evaluate(scores, seg, ds.masks, test, mode="person", n_random=3)
    assert again.as_dict() == res.as_dict()  # the random control is seeded


def test_field_mode_scores_only_centres(synth):
    ds, test, seg = synth
    res = evaluate(np.zeros(len(seg)), seg, ds.masks, test, mode="field", n_random=2)
    centres = {(c, s + n // 2) for c, s, n in zip(seg.clip, seg.start, seg.length, strict=True)}
    assert res.n_scored_frames == len(centres)


def test_without_clips_uses_covered_frames(synth):
    ds, test, seg = synth
    a = evaluate(np.arange(len(seg), dtype=float), seg, ds.masks, test, n_random=0)
    b = evaluate(np.arange(len(seg), dtype=float), seg, ds.masks, None, n_random=0)
    assert a.n_person_frames == b.n_person_frames  # padding covers every tracked frame
    assert np.isnan(b.random_auc_roc)
    with pytest.raises(ValueError, match="n_random must be a non-negative integer"):
        evaluate(np.zeros(len(seg)), seg, ds.masks, n_random=-1)


@pytest.mark.slow
def test_poselift_random_scores_field_vs_person(poselift_path):
    """The free true negatives of the field protocol, measured (docs/evaluation.md)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN confidences, counted elsewhere
        ds = load_dataset(poselift_path)
    seg = segment_tracks(ds.test, seg_len=24, stride=1)
    rng = np.random.default_rng(0)
    res = evaluate(rng.uniform(size=len(seg)), seg, ds.masks, ds.test, mode="field", n_random=20)
    assert len(seg) == 2993
    assert res.n_frames - res.n_scored_frames == 2282  # frames with no segment centre
    assert res.n_person_frames == 3721 and res.n_anomalous_person_frames == 1489
    assert 0.62 < res.random_auc_roc < 0.69  # random scores look better than chance
    assert 0.45 < res.random_auc_roc_person_frames < 0.55  # ... but not on person frames


def test_evaluate_and_the_pipeline_give_one_result_type_and_the_same_figures(synth):
    from pyod_dsnf.evaluation.metrics import FrameMetrics
    from pyod_dsnf.pipeline import SegmentSet, Windowing, metrics, segment_scores, to_frames

    ds, test, seg = synth
    scores = np.abs(np.diff(seg.X[..., :2], axis=1)).mean(axis=(1, 2, 3))
    res = evaluate(scores, seg, ds.masks, test, mode="person", n_random=0)
    segset = SegmentSet(clips=list(test), segments=seg, windowing=Windowing.test("person", 12))
    piped = metrics(to_frames(segment_scores(scores, segset), ds.masks), ds.masks)
    assert isinstance(res, FrameMetrics) and type(piped) is FrameMetrics
    for key, value in piped.as_dict().items():
        assert getattr(res, key) == (pytest.approx(value, nan_ok=True)
                                     if isinstance(value, float) else value), key  # fmt: skip
    assert res.lines() == piped.lines()
