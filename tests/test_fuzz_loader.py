"""Fuzzing the tracked-person loader: each generated input has its pinned outcome.

Valid documents (random person ids, zero-padded frame keys, int / float / NaN-confidence
keypoints, null / NaN / number scores) load with the tracks, frames and keypoints they
were drawn with, and pass gap filling and windowing. A valid document with one defect
(a bad key, a wrong type, a wrong keypoint count, a non-number, a non-finite or too large
value, a bad score, a frame or person given twice) raises the ValueError that names the
file and the field. Bytes that are not UTF-8 or not JSON, and truncated files, raise the
parse error; corrupt bytes that still parse to the same document load the same.
"""

from __future__ import annotations

import copy
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
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
def _check_clip(clip) -> None:
    for t in clip.tracks:
        assert len(t) > 0
        assert t.frames.dtype == np.int64 and (t.frames >= 0).all()
        assert (t.frames <= MAX_INDEX).all()
        assert (np.diff(t.frames) > 0).all()
        assert t.keypoints.dtype == np.float32 and t.keypoints.shape[1:] == (17, 3)
        assert np.isfinite(t.keypoints).all()  # NaN confidences became 0, nothing else
        assert not np.isinf(t.scores).any()
    filled, _ = fill_gaps(clip, max_gap=3)
    seg = segment_tracks(filled, seg_len=2, stride=1, pad_short=True)
    assert np.isfinite(seg.X[..., :2]).all()


def _load(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN-confidence notices
        return load_tracks(path)


def _raises(path: Path, match: str) -> None:
    """Loading ``path`` raises a ValueError that names the file and matches ``match``."""
    with pytest.raises(ValueError, match=match) as info:
        _load(path)
    assert str(path) in str(info.value), str(info.value)


# --- valid documents: each one's tracks, frames and keypoints follow from the draw ---
coordinate = st.one_of(st.floats(-1e4, 1e4, width=32), st.integers(-(10**4), 10**4))
confidence = st.one_of(st.floats(0, 1, width=32), st.just(math.nan), st.integers(0, 1))
joint = st.tuples(coordinate, coordinate, confidence)
pose_draw = st.fixed_dictionaries({
    "keypoints": st.lists(joint, min_size=17, max_size=17),
    "scores": st.one_of(st.none(), st.floats(-1e3, 1e3, width=32), st.just(math.nan),
                        st.integers(-5, 5)),
    "pad": st.integers(0, 12),
})  # fmt: skip
track_draw = st.fixed_dictionaries({
    "frames": st.dictionaries(st.integers(0, MAX_INDEX), pose_draw, max_size=5),
    "pad": st.integers(0, 12),
})  # fmt: skip
tracks_draw = st.dictionaries(st.integers(0, MAX_INDEX), track_draw, max_size=4)


def _document(tracks: dict) -> dict:
    """The JSON object of a draw of ``tracks_draw`` (person and frame keys zero-padded)."""
    return {
        str(person).zfill(t["pad"]): {
            str(frame).zfill(p["pad"]): {
                "keypoints": [v for j in p["keypoints"] for v in j],
                "scores": p["scores"],
            }
            for frame, p in t["frames"].items()
        }
        for person, t in tracks.items()
    }


def _expected(tracks: dict):
    """(person, frames, keypoints, scores) per non-empty track, by person; NaN count."""
    out, n_nan = [], 0
    for person in sorted(tracks):
        frames = sorted(tracks[person]["frames"])
        if not frames:
            continue
        poses = [tracks[person]["frames"][f] for f in frames]
        kp = np.array([p["keypoints"] for p in poses], dtype=np.float64)
        n_nan += int(np.isnan(kp[..., 2]).sum())
        kp[..., 2] = np.nan_to_num(kp[..., 2], nan=0.0)
        scores = [math.nan if p["scores"] is None else p["scores"] for p in poses]
        out.append((person, frames, kp.astype(np.float32), np.array(scores, np.float32)))
    return out, n_nan


def _dump(data) -> str:
    return json.dumps(data, allow_nan=True)


@FUZZ
@given(tracks=tracks_draw)
def test_valid_documents_load_with_their_tracks(tmp_path, tracks):
    path = tmp_path / NAME
    path.write_text(_dump(_document(tracks)))
    clip = _load(path)
    expected, n_nan = _expected(tracks)
    assert [t.person for t in clip.tracks] == [e[0] for e in expected]
    for t, (_, frames, kp, scores) in zip(clip.tracks, expected, strict=True):
        np.testing.assert_array_equal(t.frames, frames)
        np.testing.assert_array_equal(t.keypoints, kp)
        np.testing.assert_array_equal(t.scores, scores)  # NaN where the score was null/NaN
    assert clip.n_nan_confidence == n_nan
    _check_clip(clip)


# --- invalid documents: a valid one with one defect, and the error that names it ---
not_integer = st.sampled_from(["", "x", "1_0", " 3", "3 ", "+", "\u0663", "1e3", "0x1f", "1.0"])
too_big = st.integers(MAX_INDEX + 1, 2**70).map(str)
negative = st.integers(-(10**6), -1).map(str)
not_object = st.one_of(json_scalars, st.lists(json_scalars, max_size=3))
non_numeric = st.one_of(st.text(max_size=3), st.none(), st.booleans(),
                        st.lists(st.integers(0, 9), max_size=2), st.just({}))  # fmt: skip
bad_score = st.one_of(st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2),
                      st.sampled_from([math.inf, -math.inf, 10**39, -(10**40)]))  # fmt: skip
DEFECTS = [
    "person_key", "frame_key", "person_value", "pose_value", "no_keypoints", "kp_length",
    "kp_type", "kp_value", "kp_non_finite", "kp_too_big", "score", "frame_twice", "person_twice",
]  # fmt: skip


def _key(text: str) -> str:
    return re.escape(f"{text!r:.40}")


def _inject(data, doc: dict, defect: str) -> str:
    """Put one ``defect`` into ``doc`` (a valid document with a pose); return the pattern.

    The pattern names the field (person id, frame key, 'keypoints', 'scores') and where.
    """
    person = data.draw(st.sampled_from(sorted(k for k in doc if doc[k])))
    frames = doc[person]
    frame = data.draw(st.sampled_from(sorted(frames)))
    pose = frames[frame]
    where = rf"person {re.escape(person)} frame {re.escape(frame)}: "
    if defect in ("person_key", "frame_key"):
        what = "person id" if defect == "person_key" else "frame key"
        key, why = data.draw(st.one_of(
            not_integer.map(lambda k: (k, "is not an integer")),
            too_big.map(lambda k: (k, "exceeds the largest accepted")),
            negative.map(lambda k: (k, "is negative")),
        ))  # fmt: skip
        table = doc if defect == "person_key" else frames
        table[key] = table.pop(person if defect == "person_key" else frame)
        return f"{what} {_key(key)} {why}"
    if defect == "person_value":
        doc[person] = data.draw(not_object)
        return rf"person {re.escape(person)}: expected an object \{{frame: pose\}}"
    if defect == "pose_value":
        frames[frame] = data.draw(not_object)
        return where + "expected an object with 'keypoints'"
    if defect == "no_keypoints":
        del pose["keypoints"]
        return where + "expected an object with 'keypoints'"
    if defect == "kp_length":
        n = data.draw(st.integers(0, 60).filter(lambda n: n != 51))
        pose["keypoints"] = data.draw(st.lists(st.floats(0, 9), min_size=n, max_size=n))
        return where + f"'keypoints' must be a list of 51 numbers .* got {n}$"
    if defect == "kp_type":
        value = data.draw(st.one_of(json_scalars, st.just({})))
        pose["keypoints"] = value
        return where + f"'keypoints' must be a list of 51 numbers .* got {type(value).__name__}$"
    i = data.draw(st.integers(0, 50))
    if defect == "kp_value":
        pose["keypoints"][i] = data.draw(non_numeric)
        return where + "keypoints hold a non-numeric value"
    if defect == "kp_non_finite":
        # NaN or infinite x / y, or an infinite confidence (a NaN confidence is allowed)
        pose["keypoints"][i] = math.inf if i % 3 == 2 else data.draw(
            st.sampled_from([math.nan, math.inf, -math.inf]))  # fmt: skip
        return where + "keypoints hold a non-finite coordinate or an infinite confidence"
    if defect == "kp_too_big":
        pose["keypoints"][i] = data.draw(st.sampled_from([1e39, -1e300, 10**39, -(10**60)]))
        return where + r"keypoints hold a value beyond \+-3.4e\+38 \(the float32 range\)"
    if defect == "score":
        pose["scores"] = data.draw(bad_score)
        return where + r"'scores' must be a number \(finite\) or null"
    if defect == "frame_twice":
        frames["0" + frame] = copy.deepcopy(pose)
        return rf"person {re.escape(person)} has frame {int(frame)} twice"
    assert defect == "person_twice"
    doc["0" + person] = copy.deepcopy(frames)
    return "a person id occurs twice"


@FUZZ
@given(tracks=tracks_draw.filter(lambda t: any(v["frames"] for v in t.values())),
       defect=st.sampled_from(DEFECTS), data=st.data())  # fmt: skip
def test_a_defect_in_a_valid_document_raises_the_error_naming_it(tmp_path, tracks, defect, data):
    doc = _document(tracks)
    match = _inject(data, doc, defect)
    path = tmp_path / NAME
    path.write_text(_dump(doc))
    _raises(path, match)


@FUZZ
@given(data=st.one_of(json_scalars, st.lists(json_values, max_size=4)))
def test_json_values_other_than_an_object_raise_value_error(tmp_path, data):
    path = tmp_path / NAME
    path.write_text(_dump(data))
    _raises(path, rf"expected a JSON object .*, got {type(data).__name__}$")


def _parse_error(raw: bytes) -> str | None:
    """The loader's error for bytes that are not UTF-8 or not JSON; None if they parse."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "not a UTF-8 text file"
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return "not valid JSON"
    except RecursionError:  # pragma: no cover - 200 bytes nest too little
        return "nested too deeply"
    return None


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes_raise_value_error(tmp_path, raw):
    match = _parse_error(raw)
    assume(match is not None)  # the few that parse are documents: the tests above
    path = tmp_path / NAME
    path.write_bytes(raw)
    _raises(path, match)


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
def test_single_byte_corruption_raises_the_parse_error_or_loads_the_same(tmp_path, pos, byte):
    original = _valid_text().encode()
    raw = bytearray(original)
    raw[pos] = byte
    path = tmp_path / NAME
    path.write_bytes(bytes(raw))
    match = _parse_error(bytes(raw))
    if match is not None:
        _raises(path, match)
        return
    # a byte that changes a value or a key makes another document: the tests above
    assume(json.loads(raw) == json.loads(original))  # same byte, or whitespace for whitespace
    clip = _load(path)
    assert [t.person for t in clip.tracks] == [1, 2]
    for t, frames in zip(clip.tracks, (range(6), range(3, 9)), strict=True):
        np.testing.assert_array_equal(t.frames, frames)
        np.testing.assert_array_equal(t.keypoints, expected_keypoints(frames))


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
