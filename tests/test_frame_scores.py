import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter1d

from pyod_dsnf.evaluation import frame_scores
from pyod_dsnf.evaluation.frame_scores import map_scores
from pyod_dsnf.poses import Segments


def _segments(clip, person, start, length=None, seg_len=4):
    n = len(start)
    length = np.full(n, seg_len) if length is None else np.asarray(length)
    return Segments(
        X=np.zeros((n, seg_len, 17, 3), np.float32),
        clip=np.asarray(clip),
        person=np.asarray(person, dtype=np.int64),
        start=np.asarray(start, dtype=np.int64),
        length=length.astype(np.int64),
        seg_len=seg_len,
    )


def test_field_mode_by_hand():
    seg = _segments(["a", "a", "a"], [0, 0, 1], [0, 1, 1])
    raw = frame_scores([5.0, 3.0, 7.0], seg, {"a": 10, "b": 3}, mode="field", field_sigmas=())
    # centres start + 2: frame 2 <- 5, frame 3 <- max(3, 7); the rest <- the lowest score, 5
    np.testing.assert_array_equal(raw["a"], [5, 5, 5, 7, 5, 5, 5, 5, 5, 5])
    np.testing.assert_array_equal(raw["b"], [5, 5, 5])  # a clip without segments
    smooth = frame_scores([5.0, 3.0, 7.0], seg, {"a": np.zeros(10), "b": 3}, mode="field")
    expected = raw["a"]
    for sig in range(1, 7):  # STG-NF's cascade
        expected = gaussian_filter1d(expected, sig)
    np.testing.assert_allclose(smooth["a"], expected)
    assert list(smooth) == ["a", "b"]


def test_person_mode_by_hand():
    seg = _segments(["a"] * 3, [0, 0, 1], [0, 2, 4])
    s = [1.0, 3.0, 10.0]
    mean = frame_scores(s, seg, {"a": 10})["a"]
    np.testing.assert_array_equal(mean, [1, 1, 2, 2, 10, 10, 10, 10, 1, 1])
    mx = frame_scores(s, seg, {"a": 10}, reduce="max")["a"]
    np.testing.assert_array_equal(mx, [1, 1, 3, 3, 10, 10, 10, 10, 1, 1])
    sm = frame_scores(s, seg, {"a": 10}, sigma=2.0)["a"]
    np.testing.assert_allclose(sm, gaussian_filter1d(mean, 2.0))


def test_padded_segment_covers_only_its_real_frames():
    seg = _segments(["a", "a"], [0, 1], [1, 2], length=[2, 4])
    out = frame_scores([9.0, 1.0], seg, {"a": 6})["a"]
    np.testing.assert_array_equal(out, [1, 9, 9, 1, 1, 1])
    field = frame_scores([9.0, 1.0], seg, {"a": 6}, mode="field", field_sigmas=())["a"]
    np.testing.assert_array_equal(field, [1, 1, 9, 1, 1, 1])  # centres 1 + 2 // 2 and 2 + 2


def test_causal_alignment_by_hand():
    # windows of 4 frames starting at 0, 1 (person 0) and 1 (person 1, padded to 2 real frames)
    seg = _segments(["a"] * 3, [0, 0, 1], [0, 1, 1], length=[4, 4, 2])
    for mode in ("person", "field"):
        out = frame_scores([5.0, 3.0, 7.0], seg, {"a": 8}, mode=mode, field_sigmas=(),
                           alignment="causal")["a"]  # fmt: skip
        # last real frames: 3 <- 5, 4 <- 3, 2 <- 7; the rest <- the lowest score, 3
        np.testing.assert_array_equal(out, [3, 3, 7, 5, 3, 3, 3, 3])
    centre = frame_scores([5.0, 3.0, 7.0], seg, {"a": 8})["a"]
    assert centre[0] == 5.0  # the default still looks ahead: frame 0 gets the window 0-3


def test_causal_alignment_uses_no_later_window():
    # two windows of one person ending at frames 5 and 6: frame 5 keeps only its own score
    seg = _segments(["a", "a"], [0, 0], [2, 3])
    out = frame_scores([1.0, 100.0], seg, {"a": 8}, alignment="causal")["a"]
    assert out[5] == 1.0 and out[6] == 100.0


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"mode": "frame"}, ValueError, "mode must be one of"),
        ({"reduce": "median"}, ValueError, "reduce must be 'mean' or 'max'"),
        ({"sigma": -1.0}, ValueError, "sigma must be None or a number >= 0"),
        ({"alignment": "end"}, ValueError, "alignment must be one of"),
        ({"scores": [1.0]}, ValueError, r"segment_scores has shape \(1,\) but there are 2"),
        ({"scores": [1.0, np.nan]}, ValueError, "1 non-finite value"),
        ({"n_frames": {"b": 5}}, ValueError, r"clip\(s\) \['a'\] that n_frames does not list"),
        ({"n_frames": {"a": 4}}, ValueError, "reaches frame 4 but n_frames gives the clip 4"),
        ({"n_frames": {"a": -1}}, ValueError, "must be a frame count or a mask"),
        ({"segments": "x"}, TypeError, "segments must be a Segments object"),
    ],
)
def test_errors(kwargs, exc, match):
    args = {"scores": [1.0, 2.0], "segments": _segments(["a", "a"], [0, 0], [0, 1]),
            "n_frames": {"a": 10}}  # fmt: skip
    for k in ("scores", "segments", "n_frames"):
        if k in kwargs:
            args[k] = kwargs.pop(k)
    with pytest.raises(exc, match=match):
        frame_scores(args["scores"], args["segments"], args["n_frames"], **kwargs)


@st.composite
def _problem(draw):
    seg_len = draw(st.integers(1, 6))
    n_clips = draw(st.integers(1, 3))
    lengths = {f"c{i}": draw(st.integers(seg_len, 30)) for i in range(n_clips)}
    n_seg = draw(st.integers(1, 12))
    clip, person, start = [], [], []
    for _ in range(n_seg):
        c = draw(st.sampled_from(sorted(lengths)))
        clip.append(c)
        person.append(draw(st.integers(0, 2)))
        start.append(draw(st.integers(0, lengths[c] - seg_len)))
    scores = draw(st.lists(st.floats(-1e3, 1e3), min_size=n_seg, max_size=n_seg))
    return _segments(clip, person, start, seg_len=seg_len), np.array(scores), lengths


@settings(max_examples=60, deadline=None)
@given(problem=_problem(), mode=st.sampled_from(["field", "person"]), sigma=st.sampled_from(
    [None, 1.5]))  # fmt: skip
def test_every_mask_frame_gets_a_finite_score(problem, mode, sigma):
    seg, scores, lengths = problem
    out = frame_scores(scores, seg, lengths, mode=mode, sigma=sigma)
    assert list(out) == list(lengths)
    for cid, n in lengths.items():
        assert out[cid].shape == (n,) and np.isfinite(out[cid]).all()


@settings(max_examples=60, deadline=None)
@given(problem=_problem(), mode=st.sampled_from(["field", "person"]), data=st.data(),
       alignment=st.sampled_from(["centre", "causal"]))  # fmt: skip
def test_a_segment_reaches_exactly_the_frames_it_covers(problem, mode, data, alignment):
    seg, _, lengths = problem
    i = data.draw(st.integers(0, len(seg) - 1))
    scores = np.zeros(len(seg))
    scores[i] = 1.0
    out, scored = map_scores(scores, seg, lengths, mode=mode, reduce="max", field_sigmas=(),
                             alignment=alignment)  # fmt: skip
    s, n = int(seg.start[i]), int(seg.length[i])
    expected = {(seg.clip[i], s + n // 2)} if mode == "field" else {
        (seg.clip[i], f) for f in range(s, s + n)}  # fmt: skip
    if alignment == "causal":
        expected = {(seg.clip[i], s + n - 1)}
    reached = {(c, int(f)) for c, a in out.items() for f in np.flatnonzero((a == 1) & scored[c])}
    assert reached == expected
    # frames no segment reached hold the lowest directly given score
    lowest = min(a[scored[c]].min() for c, a in out.items() if scored[c].any())
    for c, a in out.items():
        assert (a[~scored[c]] == lowest).all()
