"""Fuzzing the tracked-person loader: every input either loads or raises ValueError.

Random JSON documents, corrupted and truncated files, wrong types, huge or negative
frame indices, duplicate frames, empty objects, long tracks. Whatever loads must
then pass through gap filling and windowing without another exception type.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyod_dsnf.datasets import load_mask
from pyod_dsnf.poses import MAX_INDEX, fill_gaps, load_tracks, segment_tracks
from tests._pose_files import expected_keypoints, pose, write_tracks

NAME = "01_0001_alphapose_tracked_person.json"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _load_or_value_error(path: Path):
    """Load; a ValueError must name the file. Returns the Clip or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # NaN-confidence notices
            clip = load_tracks(path)
    except ValueError as exc:
        assert str(path) in str(exc), str(exc)
        return None
    _check_clip(clip)
    filled, _ = fill_gaps(clip, max_gap=3)
    seg = segment_tracks(filled, seg_len=2, stride=1, pad_short=True)
    assert np.isfinite(seg.X[..., :2]).all()
    return clip


def _check_clip(clip) -> None:
    for t in clip.tracks:
        assert len(t) > 0
        assert t.frames.dtype == np.int64 and (t.frames >= 0).all()
        assert (t.frames <= MAX_INDEX).all()
        assert (np.diff(t.frames) > 0).all()
        assert t.keypoints.dtype == np.float32 and t.keypoints.shape[1:] == (17, 3)
        assert np.isfinite(t.keypoints).all()  # NaN confidences became 0, nothing else
        assert not np.isinf(t.scores).any()


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(min_value=-1e4, max_value=1e4),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=5))
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)
frame_keys = st.one_of(
    st.integers(min_value=-5, max_value=60).map(str),
    st.integers(min_value=0, max_value=60).map(lambda i: str(i).zfill(4)),
    st.integers(min_value=2**31 - 3, max_value=2**70).map(str),
    st.sampled_from(["", "x", "1_0", " 3", "+4", "-0", "\u0663", "1e3", "0x1f"]),
)
keypoint_lists = st.one_of(
    st.lists(numbers, min_size=51, max_size=51),
    st.lists(st.floats(0, 1000, width=32), min_size=51, max_size=51),
    st.lists(json_scalars, min_size=0, max_size=60),
    json_values,
)
poses = (
    st.fixed_dictionaries(
        {"keypoints": keypoint_lists},
        optional={"scores": st.one_of(st.none(), numbers, json_values)},
    )
    | json_values
)
documents = st.dictionaries(
    st.one_of(frame_keys, st.text(max_size=3)),
    st.one_of(st.dictionaries(frame_keys, poses, max_size=6), json_values),
    max_size=4,
)


def _dump(data) -> str:
    return json.dumps(data, allow_nan=True)


@FUZZ
@given(data=documents)
def test_random_documents_load_or_raise_value_error(tmp_path, data):
    path = tmp_path / NAME
    path.write_text(_dump(data))
    _load_or_value_error(path)


@FUZZ
@given(data=json_values)
def test_random_json_values_load_or_raise_value_error(tmp_path, data):
    path = tmp_path / NAME
    path.write_text(_dump(data))
    _load_or_value_error(path)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes_raise_value_error(tmp_path, raw):
    path = tmp_path / NAME
    path.write_bytes(raw)
    _load_or_value_error(path)


def _valid_text(n_frames: int = 6) -> str:
    data = {
        "1": {str(f): {"keypoints": pose(f), "scores": 0.5} for f in range(n_frames)},
        "2": {str(f).zfill(3): {"keypoints": pose(f), "scores": None} for f in range(3, 9)},
    }
    return json.dumps(data)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(_valid_text()) - 1))
def test_truncated_files_raise_value_error(tmp_path, cut):
    path = tmp_path / NAME
    path.write_text(_valid_text()[:cut])
    with pytest.raises(ValueError, match="not valid JSON"):
        load_tracks(path)


@FUZZ
@given(pos=st.integers(min_value=0, max_value=len(_valid_text()) - 1), byte=st.integers(0, 255))
def test_single_byte_corruption_loads_or_raises_value_error(tmp_path, pos, byte):
    raw = bytearray(_valid_text().encode())
    raw[pos] = byte
    path = tmp_path / NAME
    path.write_bytes(bytes(raw))
    _load_or_value_error(path)


@FUZZ
@given(
    frames=st.lists(st.integers(0, 10**6), min_size=1, max_size=30, unique=True),
    pad=st.integers(0, 8),
)
def test_valid_random_frames_round_trip(tmp_path, frames, pad):
    path = write_tracks(tmp_path / NAME, {"5": frames}, pad=pad, score=0.25)
    t = load_tracks(path).tracks[0]
    order = sorted(frames)
    np.testing.assert_array_equal(t.frames, order)
    np.testing.assert_array_equal(t.keypoints, expected_keypoints(order))
    filled, report = fill_gaps(load_tracks(path), max_gap=2)
    assert report.n_frames_filled + len(frames) == sum(len(p) for p in filled.tracks)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"\xff\xfe{}", "not a UTF-8 text file"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b'{"1": {"7": {"keypoints": %b}, "7": {"keypoints": %b}}}', "'7' occurs twice"),
        (b'{"1": {}, "1": {}}', "'1' occurs twice"),
        (b'{"1": {"%d": {"keypoints": %%b}}}' % (2**31), "exceeds the largest accepted"),
        (b'{"1": {"%d": {"keypoints": %%b}}}' % (10**30), "exceeds the largest accepted"),
        (b'{"1": {"1_0": {"keypoints": %b}}}', "'1_0' is not an integer"),
        (b'{"1": {" 3": {"keypoints": %b}}}', "' 3' is not an integer"),
        (b'{"1": {"0": {"keypoints": %b, "scores": Infinity}}}', "'scores' must be a number"),
        (b'{"1": {"0": {"keypoints": %b, "scores": 1' + b"0" * 400 + b"}}}", "'scores' must"),
        (b'{"1": {"0": {"keypoints": [1e300' + b", 1" * 50 + b"]}}}", "float32 range"),
        (b'{"1": {"0": {"keypoints": [1' + b"0" * 400 + b", 1" * 50 + b"]}}}", "float32 range"),
        (b'{"1": {"0": {"keypoints": [[1]' + b", 1" * 50 + b"]}}}", "non-numeric value \\[1\\]"),
        (b'{"1": {"0": {"keypoints": [' + b"[1, 2, 3], " * 16 + b"[1, 2, 3]]}}}", "got 17"),
    ],
)
def test_found_crashes_now_raise_value_error(tmp_path, raw, match):
    """Each case crashed (OverflowError, RecursionError, ...) or was silently misread before."""
    kp = json.dumps(pose(0)).encode()
    raw = raw.replace(b"%b", kp)
    path = tmp_path / NAME
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match) as info:
        load_tracks(path)
    assert NAME in str(info.value)


def test_utf8_bom_and_json_nan_score_are_accepted(tmp_path):
    path = tmp_path / NAME
    text = '{"1": {"0": {"keypoints": KP, "scores": NaN}}}'.replace("KP", json.dumps(pose(0)))
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    t = load_tracks(path).tracks[0]
    assert math.isnan(t.scores[0])
    np.testing.assert_array_equal(t.keypoints, expected_keypoints([0]))


def test_empty_objects_and_zero_frames(tmp_path):
    path = tmp_path / NAME
    for text in ("{}", '{"3": {}}', '{"3": {}, "4": {}}'):
        path.write_text(text)
        clip = load_tracks(path)
        assert clip.tracks == [] and clip.last_frame == -1
        filled, report = fill_gaps(clip)
        seg = segment_tracks(filled, seg_len=4)
        assert len(seg) == 0 and report.n_tracks == 0


def test_sparse_huge_frame_indices_do_not_allocate(tmp_path):
    """Frames 0 and MAX_INDEX: gap filling splits instead of interpolating 2**31 frames."""
    path = write_tracks(tmp_path / NAME, {"1": [0, 1, MAX_INDEX - 1, MAX_INDEX]})
    clip = load_tracks(path)
    filled, report = fill_gaps(clip, max_gap=10)
    assert report.n_splits == 1 and [len(t) for t in filled.tracks] == [2, 2]
    seg = segment_tracks(filled, seg_len=2)
    np.testing.assert_array_equal(seg.start, [0, MAX_INDEX - 1])


def test_npz_file_named_npy_is_a_clear_mask_error(tmp_path):
    path = tmp_path / "01_0001.npy"
    with open(path, "wb") as fh:
        np.savez(fh, mask=np.zeros(3))
    with pytest.raises(ValueError, match=r"expected a \.npy array, got a NpzFile archive"):
        load_mask(path)


def _long_track_file(path: Path, n_frames: int) -> Path:
    row = json.dumps(pose(0))
    body = ",".join(f'"{i}": {{"keypoints": {row}, "scores": 0.9}}' for i in range(n_frames))
    path.write_text('{"1": {' + body + "}}")
    return path


def test_long_track_loads_and_windows(tmp_path):
    clip = load_tracks(_long_track_file(tmp_path / NAME, 10_000))
    assert len(clip.tracks[0]) == 10_000
    seg = segment_tracks(clip, seg_len=24, stride=24)
    assert len(seg) == 10_000 // 24


@pytest.mark.slow
def test_very_long_track_loads(tmp_path):
    """10**5 frames (34 MB of JSON) in a few seconds; 10**6 frames is in docs/guarantees.md."""
    clip = load_tracks(_long_track_file(tmp_path / NAME, 100_000))
    assert len(clip.tracks[0]) == 100_000 and clip.last_frame == 99_999
