"""`pyod-dsnf replay` and `pyod-dsnf stream` through main([...])."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from pyod_dsnf.cli import main
from pyod_dsnf.datasets import save_pose_dataset
from pyod_dsnf.poses import load_tracks
from pyod_dsnf.stream import causal_scores
from tests._stream_helpers import dataset, detector

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = save_pose_dataset(dataset(), tmp_path_factory.mktemp("data"))
    model = root / "model.dsnf"
    detector().save(model)
    lines = root / "test.jsonl"
    assert main(["replay", str(root / "pose" / "test"), "-o", str(lines)]) == 0
    return {"root": root, "model": model, "lines": lines, "test": root / "pose" / "test"}


def _records(path: Path) -> list[dict]:
    return [json.loads(t) for t in path.read_text().splitlines()]


def _assert_same_records(a: Path, b: Path) -> None:
    """The same records; a score may differ in float32 round-off between batch compositions."""
    one, other = _records(a), _records(b)
    strip = [{k: v for k, v in r.items() if k not in ("score", "joints")} for r in one]
    assert strip == [{k: v for k, v in r.items() if k not in ("score", "joints")} for r in other]
    np.testing.assert_allclose([r["score"] for r in other], [r["score"] for r in one],
                               rtol=1e-6, atol=1e-6)  # fmt: skip


@pytest.mark.slow
def test_replay_then_stream_gives_the_offline_causal_scores(files, tmp_path, capsys):
    out = tmp_path / "scores.jsonl"
    assert main(["stream", str(files["model"]), str(files["lines"]), "-o", str(out)]) == 0
    got = {(r["camera"], r["person"], r["frame"]): r["score"] for r in _records(out)}
    clips = [load_tracks(f) for f in sorted(files["test"].glob("*.json"))]
    seg, scores = causal_scores(detector(), clips)
    end = seg.start + seg.length - 1
    off = {(str(c), str(p), int(f)): s
           for c, p, f, s in zip(seg.clip, seg.person, end, scores, strict=True)}  # fmt: skip
    assert got.keys() == off.keys()
    np.testing.assert_allclose([got[k] for k in off], list(off.values()), atol=1e-6)
    err = capsys.readouterr().err
    assert f"{len(off)} scores" in err and "(0 bad)" in err


@pytest.mark.slow
def test_bad_lines_are_reported_and_skipped_nothing_is_lost(files, tmp_path, capsys):
    clean = tmp_path / "clean.jsonl"
    assert main(["stream", str(files["model"]), str(files["lines"]), "-o", str(clean)]) == 0
    lines = files["lines"].read_text().splitlines()
    first = json.loads(lines[40])
    bad = [
        "not json",
        json.dumps({**first, "frame": 0}),  # goes backwards on that camera
        json.dumps({**first, "frame": 10**6, "people": {"1": [1.0, 2.0, 3.0]}}),
        "",  # blank lines are skipped silently
    ]
    mixed = [*lines[:41], *bad, *lines[41:]]
    src = tmp_path / "mixed.jsonl"
    src.write_text("\n".join(mixed) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["stream", str(files["model"]), str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "line 42: not valid JSON" in err
    assert f"line 43: camera '{first['camera']}': frame 0 does not come after" in err
    assert "line 44: camera" in err and "keypoints must have shape (17, 3)" in err
    assert "(3 bad)" in err and "line 45" not in err
    _assert_same_records(clean, out)  # every good line scored as without the bad


@pytest.mark.slow
def test_batched_lines_give_the_same_output(files, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["stream", str(files["model"]), str(files["lines"]), "-o", str(a)]) == 0
    src = tmp_path / "src.jsonl"
    text = files["lines"].read_text().splitlines()
    src.write_text("\n".join([*text[:30], "{oops", *text[30:]]) + "\n")
    assert main(["stream", str(files["model"]), str(src), "-o", str(b), "--batch", "7"]) == 0
    _assert_same_records(a, b)
    c = tmp_path / "c.jsonl"
    assert main(["stream", str(files["model"]), str(src), "-o", str(c), "--batch", "1",
                 "--max-latency", "0", "--jobs", "1"]) == 0  # fmt: skip
    _assert_same_records(a, c)


def test_line_batches_gather_what_arrives_within_the_latency_bound():
    import time

    from pyod_dsnf.cli.stream import line_batches

    ready = [f"{i}\n" for i in range(10)]
    batches = list(line_batches(iter(ready), 1.0, 4))  # a file: full batches at once
    assert [[n for n, _ in b] for b in batches] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]

    def live():  # two bursts, 0.3 s apart
        yield from ("a\n", "b\n", "c\n")
        time.sleep(0.3)
        yield from ("d\n", "e\n")

    got = [[t.strip() for _, t in b] for b in line_batches(live(), 0.1, 100)]
    assert got == [["a", "b", "c"], ["d", "e"]]

    def broken():
        yield "a\n"
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError):
        list(line_batches(broken(), 0.05, 10))


def test_strict_stops_at_the_first_bad_line_after_writing_what_came_before(files, tmp_path,
                                                                          capsys):  # fmt: skip
    lines = files["lines"].read_text().splitlines()
    src = tmp_path / "s.jsonl"
    src.write_text("\n".join([*lines[:60], "{", *lines[60:]]) + "\n")
    out = tmp_path / "o.jsonl"
    assert main(["stream", str(files["model"]), str(src), "-o", str(out), "--strict"]) == 2
    assert "pyod-dsnf stream: error: line 61: not valid JSON" in capsys.readouterr().err
    n_before = len(_records(out))
    full = tmp_path / "full.jsonl"
    (tmp_path / "head.jsonl").write_text("\n".join(lines[:60]) + "\n")
    assert main(["stream", str(files["model"]), str(tmp_path / "head.jsonl"), "-o",
                 str(full)]) == 0  # fmt: skip
    assert n_before == len(_records(full)) > 0


@pytest.mark.slow
def test_stdin_stdout_and_thresholds(files, monkeypatch, capsys):
    text = files["lines"].read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["stream", str(files["model"]), "--threshold=-1e9", "--min-gap", "1000"]) == 0
    recs = [json.loads(t) for t in capsys.readouterr().out.splitlines()]
    # every person's first score alerts at threshold -1e9, then the episode never ends
    assert sum(r["alert"] for r in recs) == len({(r["camera"], r["person"]) for r in recs})
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["stream", str(files["model"]), "--budget", "1000", "--fps", "15",
                 "--normal", str(files["root"] / "pose" / "train")]) == 0  # fmt: skip
    assert "alert(s) per camera-hour at 15 fps" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--threshold", "high"], "--threshold must be a number or 'contamination'"),
        (["--budget", "1"], "holds no calibration"),
        (["--batch", "0"], "--batch must be >= 1"),
        (["--max-latency", "-1"], "--max-latency must be >= 0 milliseconds"),
        (["--forget-after", "1"], "--forget-after must be >= max_gap"),
    ],
)
def test_option_errors_exit_2(files, capsys, extra, match):
    assert main(["stream", str(files["model"]), str(files["lines"]), *extra]) == 2
    assert match in capsys.readouterr().err


def test_missing_model_and_pose_dir_exit_2(tmp_path, capsys):
    assert main(["stream", str(tmp_path / "none.dsnf"), "-"]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert main(["replay", str(tmp_path)]) == 2
    assert "holds no pose files or clip folders" in capsys.readouterr().err


def test_budget_from_the_model_itself_and_the_report(files, tmp_path, capsys):
    model = tmp_path / "fitted.dsnf"
    fit = ["fit", str(files["root"] / "pose" / "train"), "-o", str(model), "--seg-len", "8",
           "--stride", "4", "--epochs", "1", "--n-flow-steps", "2", "--hidden-channels", "4",
           "--random-state", "0", "--threads", "1"]  # fmt: skip
    assert main(fit) == 0
    capsys.readouterr()
    out = tmp_path / "scores.jsonl"
    argv = ["stream", str(model), str(files["lines"]), "-o", str(out), "--budget", "50", "--fps",
            "15", "--verbose"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "set on the model's" in err and "held-out windows" in err and "calibrated in" in err
    last = err.strip().splitlines()[-1]
    assert re.search(r"\d+ lines \(0 bad\), \d+ poses, \d+ scores, \d+ alerts in [\d.]+ s: "
                     r"\d+ person-frames/s, tick latency p50 [\d.]+ ms / p99 [\d.]+ ms", last)
    recs = _records(out)
    assert recs and all(r["clip"] == r["camera"] and r["clip_frame"] == r["frame"] for r in recs)
    # --normal still overrides, with progress while it calibrates
    argv[-3:] = ["--normal", str(files["root"] / "pose" / "train"), "--fps", "15"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "calibrating on 3 clip(s)" in err and "windows scored" in err
    assert "camera-hours of normal footage" in err
