"""Fuzzing the pose-estimator loaders: each generated document has its pinned outcome.

Valid documents shaped like each format (AlphaPose detections, MMPose frames, OpenPose
frames; up to 3 people per frame, random frames, keypoints, confidences and scores)
load with the tracks, frames and keypoints they were drawn with (the test tracker gives
the i-th detection in frame order person ``i % 3``) and pass gap filling and windowing.
A valid document with one defect raises the ValueError that names the file and field.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyod_dsnf.poses import fill_gaps, segment_tracks
from pyod_dsnf.poses.formats import load_poses

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

COCO17 = ["nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
          "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle",
          "r_ankle"]  # fmt: skip
# OpenPose's own joint orders (its documentation), written out here, not taken from the code
OPENPOSE_COCO18 = ["nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow",
                   "l_wrist", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
                   "r_eye", "l_eye", "r_ear", "l_ear"]  # fmt: skip
BODY_25 = ["nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow",
           "l_wrist", "mid_hip", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
           "r_eye", "l_eye", "r_ear", "l_ear", "l_big_toe", "l_small_toe", "l_heel",
           "r_big_toe", "r_small_toe", "r_heel"]  # fmt: skip

coordinate = st.one_of(st.floats(0, 2000, width=32), st.integers(0, 2000))
confidence = st.one_of(st.floats(0, 1, width=32), st.just(math.nan))
# one person: (x, y, c) for each joint of the largest layout; a format takes what it needs
person = st.lists(st.tuples(coordinate, coordinate, confidence), min_size=25, max_size=25)
score = st.one_of(st.none(), st.floats(0, 10, width=32))
detection = st.tuples(person, score)
frames_draw = st.dictionaries(st.integers(0, 500), st.lists(detection, min_size=1, max_size=3),
                              max_size=5)  # fmt: skip


def by_index(frames, keypoints):
    return np.arange(len(frames), dtype=np.int64) % 3


def _expected(frames: dict, joints: list[str] | None = None, scores: bool = True):
    """The tracks ``by_index`` makes of the drawn detections: {person: (frames, kp, scores)}.

    ``joints`` names the source joints in file order (None: the first 17 are COCO-17).
    """
    rows = sorted(((f, j, d) for f, dets in frames.items() for j, d in enumerate(dets)),
                  key=lambda r: r[0])  # fmt: skip  # stable: file order within a frame
    take = list(range(17)) if joints is None else [joints.index(n) for n in COCO17]
    out: dict[int, tuple[list, list, list]] = {}
    for i, (f, _, (joints_xyc, s)) in enumerate(rows):
        kp = np.array([joints_xyc[k] for k in take], dtype=np.float64)
        kp[:, 2] = np.nan_to_num(kp[:, 2], nan=0.0)
        track = out.setdefault(i % 3, ([], [], []))
        track[0].append(f)
        track[1].append(kp)
        track[2].append(math.nan if s is None or not scores else s)
    return out


def _load(path: Path, fmt: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN-confidence notices
        return load_poses(path, format=fmt, tracker=by_index)


def _check_loads(path: Path, fmt: str, expected: dict) -> None:
    clip = _load(path, fmt)
    assert [t.person for t in clip.tracks] == sorted(expected)
    for t in clip.tracks:
        frames, kp, scores = expected[t.person]
        np.testing.assert_array_equal(t.frames, frames)
        np.testing.assert_array_equal(t.keypoints, np.array(kp, dtype=np.float32))
        np.testing.assert_array_equal(t.scores, np.array(scores, dtype=np.float32))
    filled, _ = fill_gaps(clip, max_gap=2)
    seg = segment_tracks(filled, seg_len=2, pad_short=True)
    assert np.isfinite(seg.X[..., :2]).all()


def _raises(path: Path, fmt: str, match: str, named: Path | None = None) -> None:
    with pytest.raises(ValueError, match=match) as info:
        _load(path, fmt)
    assert str(named or path) in str(info.value), str(info.value)


def _flat(joints_xyc, n: int) -> list:
    return [v for xyc in joints_xyc[:n] for v in xyc]


non_numeric = st.one_of(st.text(max_size=3), st.none(), st.booleans(),
                        st.lists(st.integers(0, 9), max_size=2), st.just({}))  # fmt: skip
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])


# --- AlphaPose: a list of detections ---
def _alphapose(frames: dict, n_joints: int, named: bool) -> list:
    return [
        {"image_id": f"{f:06d}.jpg" if named else f,
         "keypoints": _flat(p, 17) + [1.0] * (3 * (n_joints - 17)), "score": s}
        for f, dets in frames.items() for p, s in dets
    ]  # fmt: skip


@pytest.mark.slow
@FUZZ
@given(frames=frames_draw, n_joints=st.sampled_from([17, 26, 133, 136]), named=st.booleans())
def test_valid_alphapose_loads_with_its_tracks(tmp_path, frames, n_joints, named):
    f = tmp_path / "alphapose-results.json"
    f.write_text(json.dumps(_alphapose(frames, n_joints, named)))
    _check_loads(f, "alphapose", _expected(frames))


ALPHAPOSE_DEFECTS = ["length", "type", "value", "non_finite", "score", "image_id", "image_name",
                     "missing"]  # fmt: skip


@FUZZ
@given(frames=frames_draw.filter(bool), defect=st.sampled_from(ALPHAPOSE_DEFECTS), data=st.data())
def test_a_defect_in_alphapose_raises_the_error_naming_it(tmp_path, frames, defect, data):
    dets = _alphapose(frames, 17, named=False)
    k = data.draw(st.integers(0, len(dets) - 1))
    det = dets[k]
    here = rf"detection {k}"
    where = here + rf" \(image_id {det['image_id']}, frame {det['image_id']}\): "
    if defect == "length":
        n = data.draw(st.integers(0, 60).filter(lambda n: n != 51))
        det["keypoints"] = [1.0] * n
        match = where + rf"'keypoints' must be a list of 51 or 78 or 399 or 408 numbers, got {n}"
    elif defect == "type":
        det["keypoints"] = value = data.draw(st.one_of(st.text(max_size=3), st.none(), st.just({})))
        match = where + f"'keypoints' must be a list of .* numbers, got {type(value).__name__}$"
    elif defect == "value":
        det["keypoints"][data.draw(st.integers(0, 50))] = data.draw(non_numeric)
        match = where + "'keypoints' holds a non-numeric value"
    elif defect == "non_finite":
        det["keypoints"][3 * data.draw(st.integers(0, 16))] = data.draw(non_finite)
        match = where + "keypoints hold a non-finite coordinate"
    elif defect == "score":
        det["score"] = data.draw(st.one_of(st.text(max_size=3), st.booleans(),
                                           st.sampled_from([math.inf, -math.inf])))  # fmt: skip
        match = where + "'score' must be a finite number"
    elif defect == "image_id":
        det["image_id"] = value = data.draw(st.one_of(
            st.integers(-100, -1), st.sampled_from([1.5, 2**31, True]), st.none()))  # fmt: skip
        match = here + rf": 'image_id' must be an integer in \[0, 2147483647\], got {value!r}"
    elif defect == "image_name":
        det["image_id"] = value = data.draw(st.sampled_from(["frame.jpg", "x", ".png"]))
        match = here + rf": image_id {re.escape(repr(Path(value).stem))} holds no frame number"
    else:
        del det["keypoints"]
        match = here + ": missing field 'keypoints'"
    f = tmp_path / "alphapose-results.json"
    f.write_text(json.dumps(dets))
    _raises(f, "alphapose", match)


# --- MMPose: a list of frames (or the demo's object, which counts frames from 1) ---
def _instance(p, s) -> dict:
    return {"keypoints": [[x, y] for x, y, _ in p[:17]],
            "keypoint_scores": [c for _, _, c in p[:17]], "bbox_score": s}  # fmt: skip


def _mmpose(frames: dict, demo: bool):
    listed = [{"frame_id": f + demo, "instances": [_instance(p, s) for p, s in dets]}
              for f, dets in frames.items()]  # fmt: skip
    return {"meta_info": {}, "instance_info": listed} if demo else listed


@FUZZ
@given(frames=frames_draw, demo=st.booleans())
def test_valid_mmpose_loads_with_its_tracks(tmp_path, frames, demo):
    f = tmp_path / "walk.json"
    f.write_text(json.dumps(_mmpose(frames, demo)))
    _check_loads(f, "mmpose", _expected(frames))


MMPOSE_DEFECTS = ["frame_id", "instances", "pairs", "scores_length", "scores_value", "bbox",
                  "frame_twice", "non_finite"]  # fmt: skip


@FUZZ
@given(frames=frames_draw.filter(bool), defect=st.sampled_from(MMPOSE_DEFECTS), data=st.data())
def test_a_defect_in_mmpose_raises_the_error_naming_it(tmp_path, frames, defect, data):
    doc = _mmpose(frames, demo=False)
    k = data.draw(st.integers(0, len(doc) - 1))
    entry = doc[k]
    frame = entry["frame_id"]
    inst = entry["instances"][0]
    where = rf"frame {frame} instance 0: "
    if defect == "frame_id":
        entry["frame_id"] = value = data.draw(st.sampled_from([-1, 1.5, "3", None, 2**31]))
        match = rf"entry {k}: 'frame_id' must be an integer in \[0, 2147483647\], got {value!r}"
    elif defect == "instances":
        entry["instances"] = value = data.draw(st.one_of(st.none(), st.integers(), st.just({})))
        match = rf"frame {frame}: 'instances' must be a list, got {type(value).__name__}"
    elif defect == "pairs":
        inst["keypoints"][data.draw(st.integers(0, 16))] = data.draw(
            st.one_of(st.lists(st.floats(0, 9), max_size=3).filter(lambda p: len(p) != 2),
                      st.floats(0, 9)))  # fmt: skip
        match = where + r"'keypoints' must be a list of \[x, y\] pairs"
    elif defect == "scores_length":
        n = data.draw(st.integers(0, 30).filter(lambda n: n != 17))
        inst["keypoint_scores"] = [0.5] * n
        match = where + rf"'keypoint_scores' must be a list of 17 numbers, got {n} values"
    elif defect == "scores_value":
        inst["keypoint_scores"][data.draw(st.integers(0, 16))] = data.draw(non_numeric)
        match = where + "'keypoint_scores' holds a non-numeric value"
    elif defect == "bbox":
        inst["bbox_score"] = data.draw(st.one_of(st.text(max_size=3), st.booleans(),
                                                 st.sampled_from([math.inf, [1, 2]])))  # fmt: skip
        match = where + "'bbox_score' must be a number"
    elif defect == "frame_twice":
        doc.append({"frame_id": frame, "instances": []})
        match = rf"frame {frame} occurs twice"
    else:
        inst["keypoints"][data.draw(st.integers(0, 16))][1] = data.draw(non_finite)
        match = where + "keypoints hold a non-finite coordinate"
    f = tmp_path / "walk.json"
    f.write_text(json.dumps(doc))
    _raises(f, "mmpose", match)


# --- OpenPose: a folder of <name>_<frame>_keypoints.json files ---
def _write_openpose(folder: Path, frames: dict, n_joints: int) -> tuple[Path, list[str]]:
    folder.mkdir(exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    layout = BODY_25 if n_joints == 25 else OPENPOSE_COCO18
    for frame, dets in frames.items():
        # joint j of the file is the drawn joint of that name in the COCO-17 / BODY_25 draw
        people = [{"pose_keypoints_2d": _flat(p, n_joints)} for p, _ in dets]
        (folder / f"v_{frame:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": people}))  # fmt: skip
    return folder, layout


@FUZZ
@given(frames=frames_draw.filter(bool), n_joints=st.sampled_from([25, 18]))
def test_valid_openpose_loads_with_its_tracks(tmp_path, frames, n_joints):
    folder, layout = _write_openpose(tmp_path / "op", frames, n_joints)
    _check_loads(folder, "openpose", _expected(frames, layout, scores=False))


OPENPOSE_DEFECTS = ["length", "value", "missing", "person_id", "people", "non_finite"]


@FUZZ
@given(frames=frames_draw.filter(bool), defect=st.sampled_from(OPENPOSE_DEFECTS), data=st.data())
def test_a_defect_in_openpose_raises_the_error_naming_it(tmp_path, frames, defect, data):
    folder, _ = _write_openpose(tmp_path / "op", frames, 25)
    frame = data.draw(st.sampled_from(sorted(frames)))
    path = folder / f"v_{frame:012d}_keypoints.json"
    doc = json.loads(path.read_text())
    people = doc["people"]
    where = re.escape(f"{path.name}: frame {frame} person 0: ")
    if defect == "length":
        n = data.draw(st.integers(0, 80).filter(lambda n: n not in (75, 54)))
        people[0]["pose_keypoints_2d"] = [1.0] * n
        match = where + rf"'pose_keypoints_2d' must be a list of 75 or 54 numbers, got {n} values"
    elif defect == "value":
        people[0]["pose_keypoints_2d"][data.draw(st.integers(0, 74))] = data.draw(non_numeric)
        match = where + "'pose_keypoints_2d' holds a non-numeric value"
    elif defect == "missing":
        people[0] = data.draw(st.one_of(st.just({}), st.none(), st.integers()))
        match = where + "missing field 'pose_keypoints_2d'"
    elif defect == "person_id":
        people[0]["person_id"] = value = data.draw(st.sampled_from([-2, 1.5, "a", [1, 2], None]))
        match = where + r"'person_id' must be \[-1\] \(no id\) or an integer >= 0, got "
        match += re.escape(f"{value!r:.40}")
    elif defect == "people":
        doc["people"] = data.draw(st.one_of(st.none(), st.integers(), st.just({})))
        match = "expected an object with a 'people' list"
    else:
        people[0]["pose_keypoints_2d"][3 * data.draw(st.integers(0, 24))] = data.draw(non_finite)
        match = where + "keypoints hold a non-finite coordinate"
    path.write_text(json.dumps(doc))
    _raises(folder, "openpose", match, named=path if defect == "people" else folder)
