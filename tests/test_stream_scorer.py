"""StreamScorer: streamed scores equal the offline causal ones; buffers, errors, batching."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pyod_dsnf.evaluation import frame_scores
from pyod_dsnf.poses import Clip, Track, load_tracks
from pyod_dsnf.stream import StreamScorer, causal_scores
from tests._skeletons import with_standardiser
from tests._stream_helpers import SEG_LEN, dataset, detector, frames_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _offline(det, clips, **kw):
    seg, scores = causal_scores(det, clips, **kw)
    end = seg.start + seg.length - 1
    return {(str(c), int(p), int(f)): float(s)
            for c, p, f, s in zip(seg.clip, seg.person, end, scores, strict=True)}  # fmt: skip


def _streamed(det, clips, **kw):
    out = {}
    for clip in clips:
        scorer = StreamScorer(det, **kw)
        for f, people in frames_of(clip).items():
            for r in scorer.update(clip.clip_id, f, people):
                assert (clip.clip_id, r.person, r.frame) not in out
                out[(clip.clip_id, r.person, r.frame)] = r.score
    return out


def _with_gaps(clip: Clip) -> Clip:
    """Drop frames 30-31 (filled), 50-55 (split) of every track."""
    tracks = []
    for t in clip.tracks:
        keep = ~np.isin(t.frames, [*range(30, 32), *range(50, 56)])
        tracks.append(Track(t.person, t.frames[keep], t.keypoints[keep], t.scores[keep]))
    return Clip(clip.clip_id, tracks)


@pytest.mark.parametrize(("stride", "warm_up"), [(1, False), (3, False), (1, True), (3, True)])
def test_streamed_scores_equal_offline_causal_scores(stride, warm_up):
    det = detector()
    clips = [_with_gaps(c) for c in dataset().test]
    off = _offline(det, clips, stride=stride, warm_up=warm_up)
    got = _streamed(det, clips, stride=stride, warm_up=warm_up)
    assert len(off) > 100 and got.keys() == off.keys()
    np.testing.assert_allclose([got[k] for k in off], list(off.values()), rtol=1e-6, atol=1e-6)


def test_streamed_frame_scores_equal_causal_frame_mapping():
    det = detector()
    clips = dataset().test
    seg, scores = causal_scores(det, clips)
    n_frames = {c.clip_id: c.last_frame + 1 for c in clips}
    offline = frame_scores(scores, seg, n_frames, alignment="causal")
    streamed = {cid: np.full(n, -np.inf) for cid, n in n_frames.items()}
    for (c, _, f), v in _streamed(det, clips).items():
        streamed[c][f] = max(streamed[c][f], v)  # persons combine by max
    low = min(s[np.isfinite(s)].min() for s in streamed.values())  # unscored: lowest frame
    for cid, s in streamed.items():
        np.testing.assert_allclose(np.where(np.isinf(s), low, s), offline[cid], atol=1e-6)


@pytest.mark.slow
def test_poselift_test_clips_stream_as_offline(poselift_path):
    det = detector()  # trained on synthetic poses: equality does not need a good model
    files = sorted((poselift_path / "pose" / "test").glob("*.json"))[:3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PoseLift's NaN confidences, set to 0
        clips = [load_tracks(f) for f in files]
    for warm_up in (False, True):
        off = _offline(det, clips, warm_up=warm_up)
        got = _streamed(det, clips, warm_up=warm_up)
        assert len(off) > 100 and got.keys() == off.keys()
        np.testing.assert_allclose([got[k] for k in off], list(off.values()), rtol=1e-6, atol=1e-6)


def _pose(rng, v=17, c=3):
    kp = rng.normal(500, 50, size=(v, c)).astype(np.float32)
    if c == 3:
        kp[:, 2] = 0.9
    return kp


def test_one_forward_per_update_many_for_all_cameras(monkeypatch):
    det = detector()
    scorer = StreamScorer(det, warm_up=False)
    calls = []
    real = type(det).joint_nll

    def spy(self, X):
        calls.append(len(X))
        return real(self, X)

    monkeypatch.setattr(type(det), "joint_nll", spy)
    rng = np.random.default_rng(0)
    batch = [(f"cam{c}", f, {p: _pose(rng) for p in range(4)})
             for f in range(SEG_LEN) for c in range(3)]  # fmt: skip
    records = scorer.update_many(batch)
    assert calls == [12] and len(records) == 12  # 3 cameras x 4 people, ready at frame T-1
    calls.clear()
    warm = StreamScorer(det).update_many(batch)  # with warm-up: every frame, still one forward
    assert calls == [12 * SEG_LEN] and len(warm) == 12 * SEG_LEN
    assert {(r.camera, r.person) for r in records} == {(f"cam{c}", p) for c in range(3)
                                                        for p in range(4)}  # fmt: skip
    calls.clear()
    assert scorer.update_many([]) == [] and calls == []


def test_frames_must_increase_per_camera_and_errors_change_nothing():
    scorer = StreamScorer(detector())
    rng = np.random.default_rng(0)
    scorer.update("a", 5, {1: _pose(rng)})
    scorer.update("b", 2, {1: _pose(rng)})  # another camera has its own clock
    before = (dict(scorer.stats), scorer._buf.copy())
    with pytest.raises(ValueError, match=r"camera 'a': frame 5 does not come after frame 5"):
        scorer.update("a", 5, {1: _pose(rng)})
    with pytest.raises(ValueError, match=r"camera 'a': frame 3 does not come after frame 6"):
        scorer.update_many([("a", 6, {1: _pose(rng)}), ("a", 3, {})])
    assert scorer.stats == before[0]
    np.testing.assert_array_equal(scorer._buf, before[1])
    scorer.update("a", 6, {1: _pose(rng)})  # frame 6 was not taken by the failed batch


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((1, 0, {}), TypeError, "camera must be a str"),
        (("a", 1.5, {}), TypeError, "frame of camera 'a' must be an int"),
        (("a", True, {}), TypeError, "must be an int"),
        (("a", -1, {}), ValueError, r"must be in \[0, 2\*\*62\]"),
        (("a", 0, [1]), TypeError, "must be a mapping person id -> keypoints"),
        (("a", 0, {1.5: np.zeros((17, 3))}), TypeError, "person ids must be str or int"),
        (("a", 0, {1: np.zeros((16, 3))}), ValueError, r"person 1: keypoints must have shape"),
        (("a", 0, {1: "xy"}), TypeError, "keypoints must be numbers"),
        (("a", 0, {1: [[1, 2]] * 16 + [[1, "x"]]}), TypeError, "keypoints must be numbers"),
        (("a", 0, {"p": np.full((17, 3), np.nan)}), ValueError, "person 'p': keypoints must be "
         "finite"),
        (("a", 0, {1: np.full((17, 2), 1e39)}), ValueError, "float32 range"),
    ],
)
def test_bad_update_arguments(args, exc, match):
    scorer = StreamScorer(detector())
    with pytest.raises(exc, match=match):
        scorer.update(*args)
    assert scorer.stats["n_updates"] == 0 and scorer.n_tracked == 0


def test_bad_settings():
    det = detector()
    with pytest.raises(ValueError, match="forget_after must be >= max_gap"):
        StreamScorer(det, max_gap=5, forget_after=3)
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        StreamScorer(det, stride=0)
    with pytest.raises(ValueError, match="threshold must be a number, 'contamination'"):
        StreamScorer(det, threshold="high")
    with pytest.raises(TypeError, match="frames must be an iterable"):
        StreamScorer(det).update_many({"camera": "a", "frame": 0, "people": {}})
    from sklearn.exceptions import NotFittedError

    from pyod_dsnf import DSNFDetector

    with pytest.raises(NotFittedError):
        StreamScorer(DSNFDetector())


def test_two_channel_and_flat_keypoints_score_as_confidence_one():
    det = detector()
    rng = np.random.default_rng(1)
    poses = [_pose(rng) for _ in range(SEG_LEN)]
    for p in poses:
        p[:, 2] = 1.0
    a, b, c = StreamScorer(det), StreamScorer(det), StreamScorer(det)
    for f, p in enumerate(poses):
        ra = a.update("x", f, {0: p})
        rb = b.update("x", f, {0: p[:, :2]})
        rc = c.update("x", f, {0: p.ravel().tolist()})
    assert ra[0].score == rb[0].score == rc[0].score
    direct = det.decision_function(np.stack(poses)[None])[0]
    assert ra[0].score == pytest.approx(direct, abs=1e-6)


def test_top_joints_are_the_standardised_joint_shares():
    det = detector()
    rng = np.random.default_rng(2)
    poses = [_pose(rng) for _ in range(SEG_LEN)]
    # statistics set to mean 0, std 2: each joint's z is half its NLL share
    det = with_standardiser(det, 0.0, 2.0)
    scorer = StreamScorer(det, top_joints=4)
    for f, p in enumerate(poses):
        rec = scorer.update("x", f, {0: p})
    z = det.joint_nll(np.stack(poses)[None])[0] / 2
    order = np.argsort(-z)[:4]
    names = det.graph_.joint_names
    assert [n for n, _ in rec[0].joints] == [names[j] for j in order]
    np.testing.assert_allclose([v for _, v in rec[0].joints], z[order], atol=1e-6)
    assert rec[0].score == pytest.approx(z.max(), abs=1e-6)  # anomaly_score="joint"


def test_forgetting_bounds_memory_and_a_returning_id_starts_a_new_track():
    scorer = StreamScorer(detector(), forget_after=5, warm_up=False)
    rng = np.random.default_rng(3)
    pose = _pose(rng)
    for f in range(5000):  # a new person every 2 frames, each seen for 4 frames (< T: unscored)
        scorer.update("cam", f, {f"p{f // 2 - k}": pose for k in range(2) if f // 2 - k >= 0})
    assert scorer.n_tracked <= 2 + 3 and scorer.capacity <= 16
    assert scorer.stats["n_forgotten"] >= 2490 and scorer.stats["n_scored"] == 0
    # p0 was last seen at frame 3, long forgotten: it starts again and needs T frames
    got = [scorer.update("cam", 5000 + i, {"p0": _pose(rng)}) for i in range(SEG_LEN)]
    assert [len(r) for r in got] == [0] * (SEG_LEN - 1) + [1]


def test_short_gap_is_filled_and_scored_late_long_gap_restarts():
    scorer = StreamScorer(detector(), max_gap=2, warm_up=False)
    rng = np.random.default_rng(4)
    for f in range(SEG_LEN):
        scorer.update("c", f, {7: _pose(rng)})
    recs = scorer.update("c", SEG_LEN + 2, {7: _pose(rng)})  # frames T, T+1 missing
    assert [(r.frame, r.filled) for r in recs] == [(SEG_LEN, True), (SEG_LEN + 1, True),
                                                   (SEG_LEN + 2, False)]  # fmt: skip
    assert scorer.stats["n_filled"] == 2
    assert scorer.update("c", SEG_LEN + 6, {7: _pose(rng)}) == []  # 3 missing: a new track


def test_warm_up_scores_from_the_first_frame_with_a_start_padded_window():
    det = detector()
    rng = np.random.default_rng(5)
    poses = [_pose(rng) for _ in range(SEG_LEN)]
    scorer = StreamScorer(det)  # warm_up=True is the default
    got = [scorer.update("c", f, {0: p}) for f, p in enumerate(poses)]
    assert [len(r) for r in got] == [1] * SEG_LEN
    # frame 2's window: the first pose repeated T - 3 times, then frames 0, 1, 2
    window = np.stack([poses[0]] * (SEG_LEN - 3) + poses[:3])
    assert got[2][0].score == pytest.approx(det.decision_function(window[None])[0], abs=1e-6)
    with pytest.raises(TypeError, match="warm_up must be a bool"):
        StreamScorer(det, warm_up="yes")


def test_window_without_any_detected_joint_is_counted_not_scored():
    scorer = StreamScorer(detector(), warm_up=False)
    blank = np.zeros((17, 3), np.float32)
    for f in range(SEG_LEN + 2):
        assert scorer.update("c", f, {0: blank}) == []
    assert scorer.stats["n_unscorable"] == 3
