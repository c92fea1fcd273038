"""The JSON-lines format: parsing input lines, writing records, replaying clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyod_dsnf.poses import Clip, Track
from pyod_dsnf.stream import ScoreRecord
from pyod_dsnf.stream.jsonl import camera_of, format_record, parse_line, replay_lines


def test_parse_line_reads_camera_frame_people_and_ignores_other_keys():
    cam, frame, people = parse_line('{"camera": "c", "frame": 3, "people": {"1": [1, 2]}, "x": 0}')
    assert (cam, frame, people) == ("c", 3, {"1": [1, 2]})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"camera": "c", "frame": 1}', r"missing key\(s\) \['people'\]"),
        ('{"camera": "c", "frame": 1, "people": {"1": [NaN, 1]}}', "NaN is not a number"),
        ('{"camera": "c", "frame": 1, "people": {"1": [Infinity]}}', "Infinity is not a number"),
        ('{"camera": "c", "frame": 1, "people": {"1": [1, true]}}', "true/false"),
        ("[" * 100000, "nested too deeply|not valid JSON"),
    ],
)
def test_parse_line_errors(text, match):
    with pytest.raises(ValueError, match=match):
        parse_line(text)


def test_format_record_is_strict_json_even_for_infinite_scores():
    rec = ScoreRecord("c", 4, "7", float("inf"), True, (("nose", float("inf")), ("neck", 1.23456)))
    d = json.loads(format_record(rec))
    assert d["score"] == np.finfo(np.float64).max and d["alert"] is True
    assert d["joints"] == [{"joint": "nose", "z": np.finfo(np.float64).max},
                           {"joint": "neck", "z": 1.235}]  # fmt: skip
    assert set(d) == {"camera", "frame", "person", "score", "alert", "joints", "filled"}


def _clip(cid, person, frames, value):
    kp = np.full((len(frames), 17, 3), value, np.float32)
    return Clip(cid, [Track(person, frames, kp, np.zeros(len(frames)))])


def test_replay_interleaves_cameras_by_frame():
    clips = [_clip("01_a", 3, [1, 2], 1.5), _clip("02_b", 4, [0, 2], 2.5)]
    lines = [json.loads(t) for t in replay_lines(clips)]
    assert [(d["camera"], d["frame"]) for d in lines] == [
        ("01_a", 0), ("02_b", 0), ("01_a", 1), ("02_b", 1), ("01_a", 2), ("02_b", 2)]  # fmt: skip
    assert lines[0]["people"] == {} and lines[1]["people"]["4"] == [2.5] * 51


def test_replay_prefix_plays_clips_of_one_camera_one_after_another():
    clips = [_clip("01_a", 3, [0, 1], 1.0), _clip("01_b", 3, [0], 2.0), _clip("02_c", 3, [0], 3.0)]
    lines = [json.loads(t) for t in replay_lines(clips, camera="prefix", clip_gap=5)]
    cams = {(d["camera"], d["frame"]): d for d in lines}
    assert sorted(cams) == [("01", 0), ("01", 1), ("01", 7), ("02", 0)]  # 01_b starts at 1+1+5
    assert list(cams[("01", 7)]["people"]) == ["01_b/3"]  # people of two clips never merge
    assert cams[("01", 7)]["clip"] == "01_b" and cams[("01", 7)]["clip_frame"] == 0
    assert camera_of("01_0222", "prefix") == "01" and camera_of("x", "prefix") == "x"
    with pytest.raises(ValueError, match="camera mode must be one of"):
        camera_of("x", "scene")
    with pytest.raises(ValueError, match="clip_gap must be an integer >= 1"):
        list(replay_lines(clips, clip_gap=0))
