"""The pipeline's steps: recipes, frame mapping, metrics, labels, formats."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.pipeline import (
    FrameMetrics,
    Windowing,
    cut,
    load,
    metrics,
    rank_safe,
    score,
    segment_labels,
    to_frames,
)
from pyod_dsnf.poses import (
    Clip,
    PoseFormat,
    Track,
    get_format,
    pose_formats,
    register_format,
    segment_tracks,
)


def _clip(cid: str, frames, person: int = 0) -> Clip:
    frames = np.asarray(frames)
    kp = np.ones((len(frames), 17, 3), np.float32)
    kp[:, :, 0] = frames[:, None]  # x = frame index: filled frames are easy to check
    return Clip(cid, [Track(person, frames, kp, np.full(len(frames), np.nan))])


def test_infinite_scores_rank_highest_with_a_warning():
    with pytest.warns(UserWarning, match="1 segment score"):
        s = rank_safe(np.array([0.5, np.inf, 2.0]), "m")
    np.testing.assert_array_equal(s, [0.5, 3.0, 2.0])
    with pytest.raises(FloatingPointError, match="m returned NaN"):
        rank_safe(np.array([0.5, np.nan]), "m")


def test_the_three_recipes():
    # frames 0..5, a 2-frame gap, 8..9: person fills it, field keeps the raw runs
    clip = _clip("a", [0, 1, 2, 3, 4, 5, 8, 9])
    field = cut(clip, Windowing.test("field", seg_len=4))
    assert field.gaps is None and field.segments.start.tolist() == [0, 1, 2]  # run 8..9 skipped
    person = cut(clip, Windowing.test("person", seg_len=4))
    assert person.gaps.n_frames_filled == 2 and person.segments.start.tolist() == list(range(7))
    np.testing.assert_array_equal(person.segments.X[6, :, 0, 0], [6, 7, 8, 9])  # 6, 7 filled
    train = cut([clip], Windowing.train(seg_len=4, stride=3))
    assert train.segments.start.tolist() == [0, 3, 6]
    with pytest.raises(ValueError, match="mode must be one of"):
        Windowing.test("centre", 4)


def test_to_frames_and_metrics_keep_tracked_frames_and_pad_to_masks():
    clips = [_clip("a", range(6)), _clip("b", range(2, 6))]
    segset = cut(clips, Windowing.test("person", seg_len=2))
    seg_scores = score(_ByStart(), segset)
    frames = to_frames(seg_scores)  # default: up to the last posed frame
    assert {c: len(s) for c, s in frames.scores.items()} == {"a": 6, "b": 6}
    np.testing.assert_array_equal(frames.tracked["b"], [0, 0, 1, 1, 1, 1])
    masks = {"a": np.r_[0, 0, 0, 0, 1, 1, 0], "b": np.r_[0, 0, 0, 0, 0, 0], "c": np.r_[0, 1]}
    m = metrics(frames, masks)  # 'a' padded by one frame, 'c' (no poses) all lowest
    assert m.n_frames == 15 and m.n_anomalous == 3 and m.n_person_frames == 10
    assert m.mode == "person" and 0 <= m.auc_roc <= 1
    with pytest.raises(ValueError, match="n_frames has no entry"):
        to_frames(seg_scores, {"a": 6})


class _ByStart:
    """A detector whose score is the segment's first x (its start frame)."""

    def decision_function(self, X):
        return X[:, 0, 0, 0].astype(float)


def test_metric_lines_name_the_mapping():
    m = FrameMetrics("field", 0.7, 0.6, 0.65, 3, 0.5, 0.3, 100, 20, 80, 15, 4)
    lines = m.lines()
    assert m.label("auc_roc") == "AUC-ROC, field mapping, all frames"
    assert m.label("auc_roc_person_frames") == "AUC-ROC, field mapping, person frames"
    assert len(lines) == 6 and all("field mapping" in line for line in lines[1:])
    assert "70.00" in lines[1] and "(mean over the 3 of 4 clips that hold both" in lines[3]
    five = FrameMetrics(**{**m.as_dict(), "n_clips": 5}).lines()
    assert "the 3 of 5 clips that hold both normal and anomalous frames" in five[3]
    unknown = FrameMetrics(**{**m.as_dict(), "mode": "unknown"})
    assert "mapping unknown" in unknown.label("eer")


def test_segment_labels_from_frame_masks():
    seg = segment_tracks([_clip("a", range(8))], seg_len=4, stride=2)  # starts 0, 2, 4
    masks = {"a": np.r_[0, 0, 0, 0, 0, 1, 0, 0]}
    np.testing.assert_array_equal(segment_labels(seg, masks), [0, 1, 1])
    np.testing.assert_array_equal(segment_labels(seg, masks, rule="centre"), [0, 0, 0])
    padded = cut(_clip("b", [0, 1]), Windowing.test("person", seg_len=4))  # 2 real frames
    assert segment_labels(padded, {"b": np.r_[0, 0, 1]}).tolist() == [0]
    with pytest.raises(ValueError, match="no entry for clip 'a'"):
        segment_labels(seg, {"b": np.zeros(3)})
    with pytest.raises(ValueError, match="beyond its mask"):
        segment_labels(seg, {"a": np.zeros(6)})


def test_a_format_plugs_in_by_name(tmp_path):
    def find(folder):
        return sorted(folder.glob("*.frames"))

    def read(path, *, layout, nan_confidence):
        return _clip(path.stem, [int(f) for f in path.read_text().split()])

    register_format(PoseFormat("frame-list", find, lambda p: p.stem, read, "*.frames files"))
    assert "frame-list" in pose_formats() and get_format("frame-list").read is read
    (tmp_path / "x.frames").write_text("0 1 2 3")
    (tmp_path / "y.frames").write_text("5 6")
    clips = load(tmp_path, fmt="frame-list")
    assert [c.clip_id for c in clips] == ["x", "y"] and clips[0].last_frame == 3
    with pytest.raises(ValueError, match=r"fmt must be one of .*'nope'"):
        load(tmp_path, fmt="nope")
    with pytest.raises(ValueError, match=r"holds no \*\.json tracked-person files"):
        load(tmp_path)


def test_the_pose_estimator_formats_load_a_folder_of_clips(tmp_path):
    import shutil
    from pathlib import Path

    examples = Path(__file__).parent / "data" / "formats"
    shutil.copytree(examples / "openpose_coco18", tmp_path / "op" / "walk")
    shutil.copytree(examples / "openpose_coco18", tmp_path / "op" / "run")
    (tmp_path / "ap" / "cam1").mkdir(parents=True)
    shutil.copy(examples / "alphapose_tracked" / "alphapose-results.json", tmp_path / "ap" / "cam1")
    op = load(tmp_path / "op", fmt="openpose")
    assert [c.clip_id for c in op] == ["run", "walk"] and op[0].n_person_frames > 0
    ap = load(tmp_path / "ap", fmt="alphapose")
    assert [c.clip_id for c in ap] == ["cam1"] and ap[0].n_person_frames > 0
    segset = cut(op, Windowing.test("person", seg_len=4))
    assert segset.segments.X.shape[1:] == (4, 17, 3)
