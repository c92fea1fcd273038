"""Loaders of pose-estimator outputs (pyod_dsnf.poses.formats) on the example files."""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from pyod_dsnf.poses import fill_gaps, load_tracks, segment_tracks
from pyod_dsnf.poses.formats import FORMATS, detect_format, load_poses
from pyod_dsnf.poses.formats.openpose import BODY25_TO_OPENPOSE18, OPENPOSE18_TO_COCO17
from pyod_dsnf.poses.skeletons import coco17_to_openpose18

DATA = Path(__file__).parent / "data" / "formats"
ALPHAPOSE = DATA / "alphapose" / "alphapose-results.json"
ALPHAPOSE_TRACKED = DATA / "alphapose_tracked" / "alphapose-results.json"
BODY25 = DATA / "openpose_body25"
COCO18 = DATA / "openpose_coco18"
MMPOSE_VIDEO = DATA / "mmpose" / "walk.json"
MMPOSE_DEMO = DATA / "mmpose" / "results_walk.json"

HAS_NORFAIR = importlib.util.find_spec("norfair") is not None
needs_norfair = pytest.mark.skipif(not HAS_NORFAIR, reason="norfair ([track] extra) not installed")


def by_frame(frames, keypoints):
    """A stand-in tracker for tests: in the example files person 0 walks on the left
    half of the 1920-pixel image and person 1 on the right half."""
    return (keypoints[:, 0, 0] > 960).astype(np.int64)


def reference(person: int) -> np.ndarray:
    """The tracked AlphaPose file: the reference keypoints of one person (coco17)."""
    clip = load_poses(ALPHAPOSE_TRACKED)
    return {t.person: t for t in clip.tracks}[person + 1].keypoints


# ------------------------------------------------------------------ detection
@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (ALPHAPOSE, "alphapose"),
        (ALPHAPOSE_TRACKED, "alphapose"),
        (BODY25, "openpose"),
        (COCO18, "openpose"),
        (BODY25 / "walk_000000000003_keypoints.json", "openpose"),
        (MMPOSE_VIDEO, "mmpose"),
        (MMPOSE_DEMO, "mmpose"),
    ],
)
def test_detect_format(path, fmt):
    assert detect_format(path) == fmt


def test_detect_tracked(tmp_path):
    f = tmp_path / "01_0001_alphapose_tracked_person.json"
    f.write_text(json.dumps({"1": {"0": {"keypoints": [1.0] * 51, "scores": 0.5}}}))
    assert detect_format(f) == "tracked"
    clip = load_poses(f)
    assert clip.clip_id == "01_0001" and clip.tracks[0].person == 1


@pytest.mark.parametrize("content", [[], {}, {"a": 1}, [1, 2], "text"])
def test_detect_unknown_names_the_file(tmp_path, content):
    f = tmp_path / "poses.json"
    f.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r"poses\.json: cannot tell the pose format"):
        load_poses(f)


def test_detect_unknown_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="cannot tell the pose format of this folder"):
        detect_format(tmp_path)


def test_bad_format_and_layout_arguments():
    with pytest.raises(ValueError, match="format must be 'auto' or one of"):
        load_poses(ALPHAPOSE_TRACKED, format="posenet")
    with pytest.raises(ValueError, match="layout must be one of"):
        load_poses(ALPHAPOSE_TRACKED, layout="body25")
    with pytest.raises(ValueError, match="tracker must be"):
        load_poses(ALPHAPOSE, tracker="sort")
    assert FORMATS == ("tracked", "alphapose", "openpose", "mmpose")


def test_missing_path():
    with pytest.raises(FileNotFoundError):
        load_poses(DATA / "nope.json")


# ------------------------------------------------------------------ AlphaPose
def test_alphapose_tracked_ids_and_values():
    clip = load_poses(ALPHAPOSE_TRACKED)
    assert clip.clip_id == "alphapose_tracked"  # alphapose-results.json: the folder's name
    assert [t.person for t in clip.tracks] == [1, 2]
    a, b = clip.tracks
    assert a.frames.tolist() == [0, 1, 2, 3, 4, 6, 7]  # person 1 missing in frame 5
    assert b.frames.tolist() == list(range(8))
    raw = json.loads(ALPHAPOSE_TRACKED.read_text())
    first = next(d for d in raw if d["image_id"] == "0.jpg" and d["idx"] == 1)
    np.testing.assert_allclose(a.keypoints[0].reshape(-1), first["keypoints"], rtol=1e-6)
    assert a.scores[0] == pytest.approx(first["score"])
    assert b.keypoints[2, 9, 2] == 0  # the undetected left wrist keeps confidence 0


def test_alphapose_without_ids_needs_a_tracker():
    with pytest.raises(ValueError, match="carries no person ids and tracker='none'"):
        load_poses(ALPHAPOSE, tracker="none")
    clip = load_poses(ALPHAPOSE, tracker=by_frame)
    assert [len(t) for t in clip.tracks] == [7, 8]
    np.testing.assert_array_equal(clip.tracks[0].keypoints, reference(0))


@pytest.mark.skipif(HAS_NORFAIR, reason="checks the message shown without norfair")
def test_without_norfair_the_message_names_the_extra():
    with pytest.raises(ImportError, match=r"pyod-dsnf\[track\]"):
        load_poses(ALPHAPOSE)


def test_alphapose_halpe26_keeps_the_coco_joints(tmp_path):
    raw = json.loads(ALPHAPOSE_TRACKED.read_text())
    for d in raw:
        d["keypoints"] = d["keypoints"] + [5.0, 6.0, 0.5] * 9  # 26 joints
    f = tmp_path / "alphapose-results.json"
    f.write_text(json.dumps(raw))
    clip = load_poses(f)
    np.testing.assert_array_equal(clip.tracks[0].keypoints, reference(0))


def test_alphapose_eval_integer_image_ids(tmp_path):
    raw = json.loads(ALPHAPOSE_TRACKED.read_text())
    for d in raw:
        d["image_id"] = int(d["image_id"].split(".")[0]) + 100
    f = tmp_path / "res.json"
    f.write_text(json.dumps(raw))
    clip = load_poses(f)
    assert clip.clip_id == "res" and clip.tracks[0].frames[0] == 100


def _write(tmp_path, raw, name="alphapose-results.json"):
    f = tmp_path / name
    f.write_text(json.dumps(raw))
    return f


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(keypoints=[1.0] * 50), r"detection 3 \(image_id '1.jpg', frame 1\): "
         r"'keypoints' must be a list of 51 or 78 or 399 or 408 numbers, got 50 values"),
        (lambda d: d["keypoints"].__setitem__(4, "x"), "'keypoints' holds a non-numeric value 'x'"),
        (lambda d: d["keypoints"].__setitem__(4, None), "non-numeric value None"),
        (lambda d: d["keypoints"].__setitem__(5, True), "non-numeric value True"),
        (lambda d: d["keypoints"].__setitem__(3, float("inf")), "non-finite coordinate"),
        (lambda d: d.update(image_id="frame.jpg"), "image_id 'frame' holds no frame number"),
        (lambda d: d.update(idx=-2), r"'idx' \(the tracker's person id\) must be an integer"),
        (lambda d: d.update(idx=None), "'idx' is missing here but a person id in detection 0"),
        (lambda d: d.update(score="high"), "'score' must be a finite number"),
        (lambda d: d.pop("image_id"), "detection 3: missing field 'image_id'"),
    ],
)  # fmt: skip
def test_alphapose_bad_input_names_file_frame_field(tmp_path, change, message):
    raw = json.loads(ALPHAPOSE_TRACKED.read_text())
    change(raw[3])
    f = _write(tmp_path, raw)
    with pytest.raises(ValueError, match=message) as info:
        load_poses(f, format="alphapose")
    assert str(info.value).startswith(str(f))


def test_alphapose_duplicate_person_in_a_frame(tmp_path):
    raw = json.loads(ALPHAPOSE_TRACKED.read_text())
    raw[1]["idx"] = raw[0]["idx"]
    with pytest.raises(ValueError, match="person id 1 occurs twice in frame 0"):
        load_poses(_write(tmp_path, raw))


def test_nan_confidence_is_zero_with_a_warning(tmp_path):
    text = ALPHAPOSE_TRACKED.read_text()
    raw = json.loads(text)
    raw[0]["keypoints"][2] = float("nan")
    f = _write(tmp_path, raw)
    with pytest.warns(UserWarning, match="1 NaN joint confidences set to 0"):
        clip = load_poses(f)
    assert clip.n_nan_confidence == 1 and clip.tracks[0].keypoints[0, 0, 2] == 0


# ------------------------------------------------------------------ OpenPose
def test_openpose_mapping_tables_are_consistent():
    # coco17 -> openpose18 (graph.py) then openpose18 -> coco17 (ours) is the identity
    kp = np.random.default_rng(0).normal(size=(3, 17, 3))
    np.testing.assert_array_equal(coco17_to_openpose18(kp)[:, list(OPENPOSE18_TO_COCO17)], kp)
    assert 8 not in BODY25_TO_OPENPOSE18 and max(BODY25_TO_OPENPOSE18) == 18  # mid-hip, feet


@pytest.mark.parametrize("folder", [BODY25, COCO18])
def test_openpose_to_coco17(folder):
    clip = load_poses(folder, tracker=by_frame)
    assert clip.clip_id == folder.name
    a, b = clip.tracks
    assert a.frames.tolist() == [0, 1, 2, 3, 4, 6, 7]
    ref = reference(0)
    np.testing.assert_allclose(a.keypoints, ref, atol=1e-3)
    # OpenPose writes an undetected joint as 0, 0, 0: missing, like confidence 0 elsewhere
    assert b.keypoints[2, 9].tolist() == [0, 0, 0]
    assert np.isnan(a.scores).all()  # OpenPose has no person score


def test_openpose_body25_to_openpose18_keeps_the_detected_neck():
    clip = load_poses(BODY25, layout="openpose18", tracker=by_frame)
    raw = json.loads((BODY25 / "walk_000000000000_keypoints.json").read_text())
    b25 = np.array(raw["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    np.testing.assert_allclose(clip.tracks[0].keypoints[0], b25[list(BODY25_TO_OPENPOSE18)],
                               rtol=1e-6)  # fmt: skip
    assert clip.tracks[0].n_joints == 18


def test_openpose_single_frame_file():
    clip = load_poses(BODY25 / "walk_000000000003_keypoints.json", tracker=by_frame)
    assert [t.frames.tolist() for t in clip.tracks] == [[3], [3]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["people"][1].update(pose_keypoints_2d=[1.0] * 45),
         r"walk_000000000002_keypoints.json: frame 2 person 1: 'pose_keypoints_2d' must be a "
         r"list of 75 or 54 numbers, got 45 values"),
        (lambda d: d["people"][0].pop("pose_keypoints_2d"), "missing field 'pose_keypoints_2d'"),
        (lambda d: d["people"][0].update(person_id=["a"]), "'person_id' must be"),
        (lambda d: d.pop("people"), "expected an object with a 'people' list"),
    ],
)  # fmt: skip
def test_openpose_bad_input(tmp_path, change, message):
    folder = tmp_path / "op"
    shutil.copytree(BODY25, folder)
    f = folder / "walk_000000000002_keypoints.json"
    raw = json.loads(f.read_text())
    change(raw)
    f.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=message):
        load_poses(folder, tracker=by_frame)


def test_openpose_mixed_joint_sets(tmp_path):
    folder = tmp_path / "op"
    shutil.copytree(BODY25, folder)
    shutil.copy(COCO18 / "walk_000000000004_keypoints.json", folder)
    with pytest.raises(ValueError, match="holds 54 values but earlier detections hold 75"):
        load_poses(folder, tracker=by_frame)


def test_openpose_file_without_frame_number(tmp_path):
    (tmp_path / "image_keypoints.json").write_text(json.dumps({"version": 1.3, "people": []}))
    with pytest.raises(ValueError, match=r"file name .image. holds no frame number .* OpenPose"):
        load_poses(tmp_path)


def test_openpose_ids_used_when_set(tmp_path):
    folder = tmp_path / "op"
    shutil.copytree(COCO18, folder)
    for f in folder.iterdir():
        raw = json.loads(f.read_text())
        for k, p in enumerate(raw["people"]):
            p["person_id"] = [7 + k if len(raw["people"]) == 2 else 8]
        f.write_text(json.dumps(raw))
    clip = load_poses(folder, tracker="none")
    assert [t.person for t in clip.tracks] == [7, 8]


# ------------------------------------------------------------------ MMPose
@pytest.mark.parametrize("path", [MMPOSE_VIDEO, MMPOSE_DEMO])
def test_mmpose_video_files(path):
    clip = load_poses(path, tracker=by_frame)
    a, b = clip.tracks
    # the demo counts frames from 1; both come out 0-based
    assert a.frames.tolist() == [0, 1, 2, 3, 4, 6, 7] and b.frames.tolist() == list(range(8))
    np.testing.assert_allclose(a.keypoints, reference(0), atol=1e-6)
    assert a.scores[0] == pytest.approx(0.9)  # bbox_score


def test_mmpose_openpose18_layout():
    clip = load_poses(MMPOSE_VIDEO, layout="openpose18", tracker=by_frame)
    np.testing.assert_allclose(clip.tracks[0].keypoints, coco17_to_openpose18(reference(0)),
                               atol=1e-5)  # fmt: skip


def test_mmpose_image_folder(tmp_path):
    video = json.loads(MMPOSE_VIDEO.read_text())
    for entry in video:
        (tmp_path / f"img_{entry['frame_id']:05d}.json").write_text(json.dumps(entry["instances"]))
    assert detect_format(tmp_path) == "mmpose"
    clip = load_poses(tmp_path, tracker=by_frame)
    assert clip.clip_id == tmp_path.name
    np.testing.assert_allclose(clip.tracks[0].keypoints, reference(0), atol=1e-6)


def test_mmpose_wholebody_keeps_the_coco_joints(tmp_path):
    video = json.loads(MMPOSE_VIDEO.read_text())
    for entry in video:
        for inst in entry["instances"]:
            inst["keypoints"] += [[1.0, 2.0]] * 116
            inst["keypoint_scores"] += [0.3] * 116
    f = _write(tmp_path, video, "wb.json")
    clip = load_poses(f, tracker=by_frame)
    np.testing.assert_allclose(clip.tracks[0].keypoints, reference(0), atol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v[2]["instances"][1].update(keypoint_scores=[0.5] * 16),
         r"frame 2 instance 1: 'keypoint_scores' must be a list of 17 numbers, got 16 values"),
        (lambda v: v[2]["instances"][1]["keypoints"].__setitem__(3, [1.0]),
         r"frame 2 instance 1: 'keypoints' must be a list of \[x, y\] pairs"),
        (lambda v: v[2]["instances"][1]["keypoint_scores"].__setitem__(3, "0.5"),
         "frame 2 instance 1: 'keypoint_scores' holds a non-numeric value '0.5'"),
        (lambda v: v[3].update(frame_id=2), "frame 2 occurs twice"),
        (lambda v: v[3].update(frame_id=-1), "'frame_id' must be an integer"),
        (lambda v: v[3].update(instances={}), "frame 3: 'instances' must be a list"),
        (lambda v: v[3]["instances"][0].update(bbox_score="x"), "'bbox_score' must be a number"),
    ],
)  # fmt: skip
def test_mmpose_bad_input(tmp_path, change, message):
    video = json.loads(MMPOSE_VIDEO.read_text())
    change(video)
    f = _write(tmp_path, video, "walk.json")
    with pytest.raises(ValueError, match=message) as info:
        load_poses(f, format="mmpose", tracker=by_frame)
    assert str(info.value).startswith(str(f))


def test_mmpose_unsupported_joint_count(tmp_path):
    video = json.loads(MMPOSE_VIDEO.read_text())
    for entry in video:
        for inst in entry["instances"]:
            inst["keypoints"] = inst["keypoints"][:14]
            inst["keypoint_scores"] = inst["keypoint_scores"][:14]
    with pytest.raises(ValueError, match="must be a list of 34 or 52 or 266 numbers, got 28"):
        load_poses(_write(tmp_path, video), format="mmpose", tracker=by_frame)


# ------------------------------------------------------------------ tracker hook
def test_callable_tracker_must_return_one_int_per_detection():
    with pytest.raises(ValueError, match="one integer id per detection"):
        load_poses(MMPOSE_VIDEO, tracker=lambda f, k: np.zeros(3))


def test_tracked_file_can_be_retracked(tmp_path):
    f = tmp_path / "c_alphapose_tracked_person.json"
    f.write_text(json.dumps({"5": {str(i): {"keypoints": [float(i)] * 51, "scores": None}
                                   for i in range(3)}}))  # fmt: skip
    clip = load_poses(f, tracker=lambda fr, kp: np.full(len(fr), 9))
    assert [t.person for t in clip.tracks] == [9]
    np.testing.assert_array_equal(clip.tracks[0].keypoints, load_tracks(f).tracks[0].keypoints)


def test_empty_detections_give_an_empty_clip(tmp_path):
    f = _write(tmp_path, {"meta_info": {}, "instance_info": [{"frame_id": 1, "instances": []}]})
    clip = load_poses(f)
    assert clip.tracks == [] and clip.last_frame == -1


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("path", [ALPHAPOSE_TRACKED, BODY25, COCO18, MMPOSE_VIDEO, MMPOSE_DEMO])
def test_round_trip_into_segments(path):
    clip = load_poses(path, tracker=by_frame)
    filled, report = fill_gaps(clip, max_gap=2)
    assert report.n_gaps_filled == 1 and report.n_frames_filled == 1  # person 0, frame 5
    assert report.n_joints_filled == 1  # person 1's undetected left wrist in frame 2
    seg = segment_tracks(filled, seg_len=4, stride=2)
    assert seg.X.shape == (6, 4, 17, 3)  # two tracks of 8 frames: starts 0, 2, 4 each
    assert np.isfinite(seg.X).all()
    wrist = seg.X[seg.person == seg.person.max()][:, :, 9]
    assert (wrist[:, :, :2] > 100).all()  # interpolated, not left at (0, 0)


# ------------------------------------------------------------------ Norfair
@needs_norfair
@pytest.mark.parametrize("path", [ALPHAPOSE, BODY25, MMPOSE_VIDEO])
def test_norfair_recovers_the_two_people(path):
    clip = load_poses(path)  # no ids in these files: Norfair assigns them
    assert [t.person for t in clip.tracks] == [0, 1]
    a = clip.tracks[0]
    assert a.frames.tolist() == [0, 1, 2, 3, 4, 6, 7]  # bridged the one-frame gap
    np.testing.assert_allclose(a.keypoints[:, :, :2], reference(0)[:, :, :2], atol=1e-3)


@needs_norfair
def test_norfair_new_id_after_a_long_absence():
    from pyod_dsnf.poses.formats import track_keypoints

    kp = reference(1)[:1]
    frames = np.array([0, 1, 40])
    ids = track_keypoints(frames, np.repeat(kp, 3, axis=0), max_age=5)
    assert ids.tolist() == [0, 0, 1]


@needs_norfair
def test_norfair_argument_checks():
    from pyod_dsnf.poses.formats import track_keypoints

    with pytest.raises(ValueError, match="ascending"):
        track_keypoints(np.array([1, 0]), np.zeros((2, 17, 3)))
    with pytest.raises(ValueError, match="max_age"):
        track_keypoints(np.array([0]), np.zeros((1, 17, 3)), max_age=0)
    assert track_keypoints(np.zeros(0, int), np.zeros((0, 17, 3))).shape == (0,)


def test_folder_of_tracked_files_is_not_one_clip(tmp_path):
    (tmp_path / "a_alphapose_tracked_person.json").write_text("{}")
    with pytest.raises(ValueError, match="a folder of tracked-person files holds several clips"):
        load_poses(tmp_path)


def test_explicit_format_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="expected a JSON list of detections"):
        load_poses(MMPOSE_DEMO, format="alphapose")
    with pytest.raises(ValueError, match=r"not an OpenPose \*_keypoints.json file"):
        load_poses(ALPHAPOSE, format="openpose")
    with pytest.raises(ValueError, match="expected an mmpose prediction file"):
        load_poses(BODY25 / "walk_000000000000_keypoints.json", format="mmpose")


def test_poselift_files_load_as_tracked(poselift_path):
    files = sorted((poselift_path / "pose" / "test").glob("*.json"))[:10]
    assert files
    for f in files:
        assert detect_format(f) == "tracked"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PoseLift's NaN confidences
            ours, ref = load_poses(f), load_tracks(f)
        assert ours.clip_id == ref.clip_id
        for a, b in zip(ours.tracks, ref.tracks, strict=True):
            np.testing.assert_array_equal(a.keypoints, b.keypoints)
            np.testing.assert_array_equal(a.frames, b.frames)
