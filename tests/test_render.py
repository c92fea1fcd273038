"""Alert animations (pyod_dsnf.evaluation.render) and the ``pyod-dsnf render`` subcommand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib")
from PIL import Image  # Pillow comes with matplotlib

from pyod_dsnf.cli import main
from pyod_dsnf.datasets import make_pose_tracks, save_tracks
from pyod_dsnf.evaluation.render import alert_data, parse_frames, render_alert
from pyod_dsnf.poses import Clip, Track, fill_gaps, segment_tracks
from pyod_dsnf.poses.skeletons import coco17_to_openpose18
from tests._skeletons import tiny_detector, with_standardiser

SEG_LEN = 8


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny detector fitted on synthetic walking tracks, a test clip and their files."""
    torch.set_num_threads(1)
    ds = make_pose_tracks(2, 1, n_frames=(80, 100), random_state=0)
    train, _ = fill_gaps(ds.train)
    det = tiny_detector().fit(segment_tracks(train, seg_len=SEG_LEN, stride=4).X)
    root = tmp_path_factory.mktemp("render")
    det.save(root / "model.dsnf")
    clip = ds.test[0]
    pose_file = save_tracks(clip, root / f"{clip.clip_id}_alphapose_tracked_person.json")
    return det, clip, root / "model.dsnf", pose_file


def _person_and_range(clip, n=5):
    """A person with a gap-free run of at least n frames, and n frames of it."""
    filled, _ = fill_gaps(clip)
    t = max(filled.tracks, key=len)
    return t.person, (int(t.frames[0]) + 2, int(t.frames[0]) + 2 + n)


def test_parse_frames():
    assert parse_frames("3:10") == (3, 10)
    for bad in ("3", "10:3", "3:3", "a:b", "-1:4", "1:2:3", "1.5:4"):
        with pytest.raises(ValueError, match="frames must be 'A:B'"):
            parse_frames(bad)


def test_alert_data_matches_the_detector(fitted):
    det, clip, _, _ = fitted
    person, (a, b) = _person_and_range(clip)
    data = alert_data(det, clip, person, (a, b))
    assert data.frames.tolist() == list(range(a, b))
    assert data.joint_z.shape == (b - a, 17) and np.isfinite(data.joint_z).all()
    # a frame covered by windows: its score is the mean of their scores, its z the mean of theirs
    t = next(t for t in fill_gaps(clip)[0].tracks if t.person == person and a in t.frames)
    k = int(np.flatnonzero(t.frames == a)[0])
    starts = [s for s in range(max(0, k - SEG_LEN + 1), k + 1) if s + SEG_LEN <= len(t)]
    X = np.stack([t.keypoints[s : s + SEG_LEN] for s in starts])
    joint = det.joint_nll(X)
    np.testing.assert_allclose(data.scores[0], det.decision_function(X).mean())
    # statistics set to mean 0, std 2: each joint's z is half its NLL share
    half = alert_data(with_standardiser(det, 0.0, 2.0), clip, person, (a, b))
    np.testing.assert_allclose(half.joint_z[0], joint.mean(axis=0) / 2)
    # the joint score is the max of the joints' z: the curve agrees with the joint colours
    assert np.all(data.joint_z.max(axis=1) <= data.scores + 1e-9) or det.anomaly_score_ != "joint"


def test_default_frames_surround_the_peak(fitted):
    det, clip, _, _ = fitted
    person, _ = _person_and_range(clip)
    data = alert_data(det, clip, person)
    peak = data.track_frames[np.argmax(data.track_scores)]
    assert data.frames[0] <= peak <= data.frames[-1]
    assert len(data.frames) <= 2 * SEG_LEN


def test_render_gif_has_one_frame_per_video_frame(fitted, tmp_path):
    det, clip, _, _ = fitted
    person, (a, b) = _person_and_range(clip, n=4)
    out = render_alert(det, clip, person, f"{a}:{b}", tmp_path / "alert.gif",
                       still=tmp_path / "peak.png")  # fmt: skip
    assert out == tmp_path / "alert.gif"
    with Image.open(out) as im:
        assert im.format == "GIF"
        assert im.n_frames == b - a
    with Image.open(tmp_path / "peak.png") as im:
        assert im.format == "PNG" and im.size == (800, 336)


def test_mp4_without_ffmpeg_falls_back_to_gif(fitted, tmp_path, monkeypatch):
    import pyod_dsnf.evaluation.render as render

    det, clip, _, _ = fitted
    person, (a, b) = _person_and_range(clip, n=2)
    monkeypatch.setattr(render, "_ffmpeg_path", lambda: None)
    with pytest.warns(UserWarning, match="no ffmpeg found"):
        out = render_alert(det, clip, person, (a, b), tmp_path / "alert.mp4")
    assert out.suffix == ".gif" and Image.open(out).n_frames == 2


@pytest.mark.skipif(
    __import__("pyod_dsnf.evaluation.render", fromlist=["_ffmpeg_path"])._ffmpeg_path() is None,
    reason="no ffmpeg (install imageio-ffmpeg)",
)
def test_render_mp4(fitted, tmp_path):
    det, clip, _, _ = fitted
    person, (a, b) = _person_and_range(clip, n=3)
    out = render_alert(det, clip, person, (a, b), tmp_path / "alert.mp4")
    assert out.suffix == ".mp4" and out.read_bytes()[4:8] == b"ftyp"
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == b - a


def test_bad_arguments(fitted, tmp_path):
    det, clip, _, _ = fitted
    person, (a, b) = _person_and_range(clip)
    ids = sorted(t.person for t in clip.tracks)
    with pytest.raises(ValueError, match=f"person 999 is not in clip .*ids are: {ids[0]}"):
        render_alert(det, clip, 999, (a, b), tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"frames 5000:5010 are not all posed for person .* "
                       r"posed in frames \d+:\d+"):  # fmt: skip
        render_alert(det, clip, person, (5000, 5010), tmp_path / "x.gif")
    with pytest.raises(ValueError, match="frames must be 'A:B'"):
        render_alert(det, clip, person, "9:2", tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"output must end in \.gif or \.mp4"):
        render_alert(det, clip, person, (a, b), tmp_path / "x.avi")
    with pytest.raises(ValueError, match="fps must be"):
        render_alert(det, clip, person, (a, b), tmp_path / "x.gif", fps=0)
    op18 = Clip(clip.clip_id, [Track(t.person, t.frames, coco17_to_openpose18(t.keypoints),
                                     t.scores) for t in clip.tracks])  # fmt: skip
    with pytest.raises(ValueError, match=r"the poses have 18 joints but the detector was fitted "
                       r"on 17 \(coco17\); load them with layout='coco17'"):  # fmt: skip
        render_alert(det, op18, person, (a, b), tmp_path / "x.gif")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_cli_render(fitted, tmp_path, capsys):
    _, clip, model, pose_file = fitted
    person, (a, b) = _person_and_range(clip, n=3)
    out = tmp_path / "alert.gif"
    argv = ["render", str(model), str(pose_file), "--person", str(person), "--frames",
            f"{a}:{b}", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert Image.open(out).n_frames == b - a


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--person", "999", "--frames", "0:3"], "person 999 is not in clip"),
        (["--person", "{p}", "--frames", "5000:5003"], "are not all posed for person"),
        (["--person", "{p}", "--frames", "3-9"], "frames must be 'A:B'"),
    ],
)
def test_cli_render_errors(fitted, tmp_path, capsys, extra, message):
    _, clip, model, pose_file = fitted
    person, _ = _person_and_range(clip)
    extra = [e.format(p=person) for e in extra]
    argv = ["render", str(model), str(pose_file), *extra, "-o", str(tmp_path / "a.gif")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pyod-dsnf render: error:") and message in err
