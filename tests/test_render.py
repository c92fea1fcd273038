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


def test_alert_data_shows_what_the_stream_printed(fitted):
    """Each rendered frame's score and joint z are the stream's record of that frame."""
    from pyod_dsnf.stream import StreamScorer
    from tests._stream_helpers import frames_of

    det, clip, _, _ = fitted
    person, (a, b) = _person_and_range(clip)
    data = alert_data(det, clip, person, (a, b), threshold=1.5)
    assert data.frames.tolist() == list(range(a, b)) and data.threshold == 1.5
    assert data.joint_z.shape == (b - a, 17) and np.isfinite(data.joint_z).all()
    scorer = StreamScorer(det, top_joints=17)
    recs = {r.frame: r for f, people in frames_of(clip).items()
            for r in scorer.update("c", f, people) if r.person == person}  # fmt: skip
    np.testing.assert_allclose(data.scores, [recs[f].score for f in range(a, b)], rtol=1e-5)
    names = list(data.graph.joint_names)
    for i, f in enumerate(range(a, b)):
        z = dict(recs[f].joints)
        np.testing.assert_allclose(data.joint_z[i], [z[n] for n in names], rtol=1e-4, atol=1e-4)
    # statistics set to mean 0, std 2: each joint's z is half the NLL share of the window
    # that ends at the frame (the causal window the stream scores)
    from pyod_dsnf.pipeline import Windowing, cut

    mine = Clip(clip.clip_id, [t for t in clip.tracks if t.person == person])
    seg = cut(mine, Windowing.causal(SEG_LEN)).segments
    i = int(np.flatnonzero(seg.start + seg.length - 1 == a)[0])
    joint = det.joint_nll(seg.X[i : i + 1])[0]
    half = alert_data(with_standardiser(det, 0.0, 2.0), clip, person, (a, b))
    np.testing.assert_allclose(half.joint_z[0], joint / 2, rtol=1e-5)
    # the joint score is the max of the joints' z: the curve agrees with the joint colours
    assert np.all(data.joint_z.max(axis=1) <= data.scores + 1e-6) or det.anomaly_score_ != "joint"
    assert data.scores[data.peak] == np.nanmax(data.scores)


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


def test_cli_render_from_a_stream_alert_line(fitted, tmp_path, capsys):
    import json

    _, clip, model, pose_file = fitted
    lines, scores = tmp_path / "lines.jsonl", tmp_path / "scores.jsonl"
    assert main(["replay", str(pose_file.parent), "-o", str(lines), "--camera", "prefix"]) == 0
    assert main(["stream", str(model), str(lines), "-o", str(scores), "--threshold=-1e9"]) == 0
    alerts = [json.loads(t) for t in scores.read_text().splitlines() if '"alert": true' in t]
    rec = alerts[-1]  # camera "prefix": the line names its clip and the frame in the clip
    assert rec["clip"] == clip.clip_id and rec["person"].startswith(f"{clip.clip_id}/")
    out, still = tmp_path / "alert.gif", tmp_path / "peak.png"
    argv = ["render", str(model), str(pose_file.parent), "--alert", json.dumps(rec),
            "--threshold=-1e9", "-o", str(out), "--still", str(still)]  # fmt: skip
    assert main(argv) == 0
    assert f"wrote {out} and {still}" in capsys.readouterr().out
    assert Image.open(out).n_frames <= 2 * SEG_LEN and still.is_file()
    argv[-4:] = ["--budget", "1", "-o", str(out)]  # with --threshold: an error
    assert main(argv) == 2  # the tiny model has no calibration
    assert "--threshold or --budget" in capsys.readouterr().err
    assert main(["render", str(model), str(pose_file), "--alert", "{}", "-o", str(out)]) == 2
    assert "alert must be a JSON object with camera, frame and person" in capsys.readouterr().err


def test_video_frames_are_read_and_drawn_under_the_skeleton(fitted, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from pyod_dsnf.evaluation.render import read_video_frames

    _, clip, model, pose_file = fitted
    person, (a, b) = _person_and_range(clip, n=4)
    video = tmp_path / "cam.mp4"
    size = (64, 48)
    writer = imageio_ffmpeg.write_frames(str(video), size, fps=10, macro_block_size=16)
    writer.send(None)
    for level in range(b + 2):  # frame k is a flat grey of level 20 k (within 255)
        writer.send(np.full((size[1], size[0], 3), min(20 * level, 255), np.uint8).tobytes())
    writer.close()
    got = read_video_frames(video, np.array([2, 5]))
    assert [g.shape for g in got] == [(48, 64, 3)] * 2
    assert abs(float(got[0].mean()) - 40) < 6 and abs(float(got[1].mean()) - 100) < 6  # codec
    with pytest.raises(ValueError, match=f"ends before frame {b + 5}"):
        read_video_frames(video, np.array([1, b + 5]))
    out = tmp_path / "over.gif"
    argv = ["render", str(model), str(pose_file), "--person", str(person), "--frames",
            f"{a}:{b}", "-o", str(out), "--video", str(video)]  # fmt: skip
    assert main(argv) == 0 and Image.open(out).n_frames == b - a
