"""The command line end to end on tiny synthetic data written to disk."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pyod_dsnf.cli import main
from pyod_dsnf.datasets import load_dataset, make_pose_tracks, save_pose_dataset

TINY = ["--epochs", "2", "--n-flow-steps", "2", "--hidden-channels", "4", "--batch-size", "32",
        "--device", "cpu"]  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    ds = make_pose_tracks(4, 3, n_frames=(80, 100), random_state=0)
    return save_pose_dataset(ds, tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def model(data_root, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.dsnf"
    args = ["fit", str(data_root / "pose" / "train"), "-o", str(path), "--seg-len", "8"]
    args += ["--stride", "4", *TINY, "--random-state", "0", "--threads", "1"]
    assert main([*args, "--anomaly-score", "nll", "--noise-std", "0.01"]) == 0
    return path


def test_saved_dataset_round_trips(data_root):
    ds = make_pose_tracks(4, 3, n_frames=(80, 100), random_state=0)
    back = load_dataset(data_root)
    assert [c.clip_id for c in back.test] == [c.clip_id for c in ds.test]
    for a, b in zip(ds.train, back.train, strict=True):
        for ta, tb in zip(a.tracks, b.tracks, strict=True):
            np.testing.assert_array_equal(ta.frames, tb.frames)
            np.testing.assert_allclose(ta.keypoints, tb.keypoints, rtol=1e-6)
    for cid, m in ds.masks.items():
        np.testing.assert_array_equal(back.masks[cid], m)


def test_fit_writes_a_loadable_model(model, capsys):
    from pyod_dsnf import DSNFDetector

    det = DSNFDetector.load(model)
    assert det.input_shape_[0] == 8 and det.n_flow_steps == 2 and det.hidden_channels == 4
    assert det.anomaly_score_ == "nll" and det.noise_std == 0.01


def test_score_then_evaluate(model, data_root, tmp_path, capsys):
    out = tmp_path / "scores"
    gt = data_root / "gt" / "test_frame_mask"
    args = ["score", str(model), str(data_root / "pose" / "test"), "-o", str(out)]
    assert main([*args, "--gt", str(gt), "--plot"]) == 0
    masks = load_dataset(data_root).masks
    with np.load(out / "frame_scores.npz") as z:
        assert sorted(z.files) == sorted(masks)
        for cid, m in masks.items():
            assert z[cid].shape == m.shape and np.isfinite(z[cid]).all()
    cid = next(iter(masks))
    rows = (out / f"{cid}.csv").read_text().splitlines()
    assert rows[0] == "frame,score,tracked" and len(rows) == len(masks[cid]) + 1
    assert (out / "plots" / f"{cid}.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert f"{out / '<clip>.csv'}" in printed and "//" not in printed
    assert f"plots: {out / 'plots' / '<clip>.png'}" in printed and "person mapping" in printed

    assert main(["evaluate", str(out), str(gt), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert 0.0 <= res["auc_roc"] <= 1.0 and 0.0 <= res["auc_roc_person_frames"] <= 1.0
    assert res["n_frames"] == sum(len(m) for m in masks.values())

    assert res["mode"] == "person"
    assert main(["evaluate", str(out), str(gt)]) == 0
    printed = capsys.readouterr().out
    assert "AUC-ROC, person mapping, all frames" in printed
    assert "AUC-ROC, person mapping, person frames" in printed
    metric_lines = [line for line in printed.splitlines() if line[:3] in ("AUC", "mac", "EER")]
    assert len(metric_lines) == 5 and all("person mapping" in line for line in metric_lines)


def test_score_without_masks_ends_at_the_last_posed_frame(model, data_root, tmp_path):
    out = tmp_path / "s"
    assert main(["score", str(model), str(data_root / "pose" / "test"), "-o", str(out)]) == 0
    test = load_dataset(data_root).test
    with np.load(out / "frame_scores.npz") as z:
        for c in test:
            assert len(z[c.clip_id]) == c.last_frame + 1


def test_demo_tiny(tmp_path, capsys):
    args = ["demo", "--n-train-clips", "3", "--n-test-clips", "3", "--seg-len", "8"]
    args += ["--epochs", "1", "--n-flow-steps", "2", "--hidden-channels", "4"]
    args += ["--methods", "dsnf", "iforest", "random", "-o", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for method in ("dsnf", "iforest", "random"):
        assert f"| {method} |" in out
    assert "AUC-ROC person mapping, person frames" in out
    assert (tmp_path / "frame_scores.png").stat().st_size > 0


def test_benchmark_tiny(data_root, tmp_path, capsys):
    args = [
        "benchmark",
        str(data_root),
        "--seeds",
        "0",
        "1",
        "--seg-len",
        "8",
        "--train-stride",
        "2",
    ]
    args += ["--methods", "dsnf-euclidean", "iforest", "random", "--epochs", "1"]
    args += ["--max-train-segments", "60", "-o", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    assert "| dsnf-euclidean | 2 |" in capsys.readouterr().out
    head = (tmp_path / "benchmark.md").read_text().splitlines()[0]
    metric_titles = head.split("|")[3:8]
    assert all(("field" in t) != ("person" in t) for t in metric_titles)
    res = json.loads((tmp_path / "benchmark.json").read_text())
    assert [r["method"] for r in res["rows"]] == ["dsnf-euclidean", "iforest", "random"]
    assert len(res["runs"]) == 6 and all(r["n_train_segments"] == 60 for r in res["runs"])
    assert all(0 <= r["field_auc"] <= 1 and r["throughput"] > 0 for r in res["runs"])
    assert "person AUC (person frames)" in (tmp_path / "benchmark.md").read_text()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["fit", "{missing}", "-o", "{tmp}/m.dsnf"], "does not exist"),
        (["fit", "{root}", "-o", "{tmp}/m.dsnf"], "pass its pose/train or pose/test folder"),
        (["score", "{missing}", "{root}/pose/test", "-o", "{tmp}/s"], "is not a file"),
        (["evaluate", "{tmp}", "{root}/gt/test_frame_mask"], "holds no frame_scores.npz"),
        (["evaluate", "{missing}", "{root}/gt/test_frame_mask"], "does not exist"),
        (["benchmark", "{missing}"], "is not a folder"),
        (["benchmark", "{root}/pose"], "has no folder 'pose/train'"),
        (["benchmark", "{root}", "--methods", "nope"], "methods must be"),
    ],
)
def test_errors_are_one_line_with_status_2(argv, expected, data_root, tmp_path, capsys):
    fill = {"missing": str(tmp_path / "nope"), "root": str(data_root), "tmp": str(tmp_path)}
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and expected in err
    assert "Traceback" not in err


def test_bad_option_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fit"])
    assert exc.value.code == 2


def test_python_dash_m_help():
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(
        [sys.executable, "-m", "pyod_dsnf", "--help"],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    assert res.returncode == 0
    for cmd in ("demo", "fit", "score", "evaluate", "benchmark"):
        assert cmd in res.stdout


def test_score_field_mode(model, data_root, tmp_path):
    out = tmp_path / "f"
    args = ["score", str(model), str(data_root / "pose" / "test"), "-o", str(out)]
    assert main([*args, "--mode", "field"]) == 0
    with np.load(out / "frame_scores.npz") as z:
        assert all(np.isfinite(z[k]).all() for k in z.files)


# ---------------------------------------------------------------- what a new user hit
@pytest.fixture
def unreadable_poses(tmp_path) -> Path:
    """A pose folder whose one file is not JSON: reading it is an error of its own.

    A command that read (or trained on) the folder before checking the rest of its
    input would print that error instead of the one the test expects, so no patching
    is needed to see that nothing was loaded.
    """
    from pyod_dsnf.poses import TRACK_FILE_SUFFIX

    folder = tmp_path / "poses"
    folder.mkdir()
    (folder / f"c0{TRACK_FILE_SUFFIX}").write_text("{not json", encoding="utf-8")
    return folder


def test_the_unreadable_folder_is_an_error_once_read(unreadable_poses, tmp_path, capsys):
    assert main(["fit", str(unreadable_poses), "-o", str(tmp_path / "x.dsnf")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_fit_to_a_missing_folder_fails_before_training(unreadable_poses, tmp_path, capsys):
    out = tmp_path / "missing_dir" / "x.dsnf"
    assert main(["fit", str(unreadable_poses), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"the folder '{tmp_path / 'missing_dir'}' does not exist" in err
    assert err.count("\n") == 1 and "--output=" in err and "JSON" not in err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--epochs", "-1"], "--epochs must be an integer >= 1, got -1"),
        (["--seg-len", "0"], "--seg-len must be an integer >= 1, got 0"),
        (["--stride", "0"], "--stride must be an integer >= 1, got 0"),
        (["--max-gap", "-1"], "--max-gap must be an integer >= 0, got -1"),
        (["--lr", "0"], "--lr must be"),
    ],
)
def test_bad_fit_flags_fail_first_and_name_the_flag(flags, expected, tmp_path, capsys):
    # the pose folder does not exist: the flag must be rejected before it is looked at
    argv = ["fit", str(tmp_path / "nope"), "-o", str(tmp_path / "m.dsnf"), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pyod-dsnf fit: error: {expected}")
    assert err.count("\n") == 1 and "does not exist" not in err


def test_warnings_print_as_one_readable_line(model, data_root, tmp_path, capsys):
    gt = tmp_path / "gt"
    gt.mkdir()
    for c in load_dataset(data_root).test:  # all-normal masks: AUCs are undefined
        np.save(gt / f"{c.clip_id}.npy", np.zeros(c.last_frame + 5, np.int8))
    out = tmp_path / "s"
    assert main(["score", str(model), str(data_root / "pose" / "test"), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), str(gt)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith("pyod-dsnf evaluate: warning: ") for line in err)
    assert any("only one class" in line for line in err)
    assert not any("UserWarning" in line or ".py:" in line for line in err)


def test_help_gives_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in (("--max-gap", "2"), ("--seg-len", "24"), ("--stride", "6")):
        after = text.split(flag, 2)[-1]
        assert f"(default: {default})" in after.split(" --", 1)[0], flag


@pytest.mark.slow
def test_score_on_a_device_and_in_parallel_gives_the_same_files(model, data_root, tmp_path):
    test_dir = str(data_root / "pose" / "test")
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["score", str(model), test_dir, "-o", str(one), "--threads", "1"]) == 0
    args = ["score", str(model), test_dir, "-o", str(two), "--device", "cpu", "--n-jobs", "2"]
    assert main([*args, "--threads", "1"]) == 0
    for name in ("frame_scores.npz", "tracked_frames.npz"):
        with np.load(one / name) as a, np.load(two / name) as b:
            assert list(a.files) == list(b.files)
            for k in a.files:
                np.testing.assert_array_equal(a[k], b[k])


def test_score_rejects_an_unknown_device(model, data_root, tmp_path, capsys):
    args = ["score", str(model), str(data_root / "pose" / "test"), "-o", str(tmp_path / "s")]
    assert main([*args, "--device", "tpu"]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_score_evaluate_give_the_benchmark_numbers(data_root, tmp_path, capsys):
    """One answer per question: the CLI path and the benchmark agree for one seed."""
    seed, settings = 3, ["--seg-len", "8", "--epochs", "1"]
    model = tmp_path / "m.dsnf"
    fit = ["fit", str(data_root / "pose" / "train"), "-o", str(model), "--stride", "4"]
    assert main([*fit, *settings, "--random-state", str(seed), "--threads", "1"]) == 0
    gt = str(data_root / "gt" / "test_frame_mask")
    cli = {}
    for mode in ("field", "person"):
        out = tmp_path / mode
        args = ["score", str(model), str(data_root / "pose" / "test"), "-o", str(out), "--gt", gt]
        assert main([*args, "--mode", mode, "--threads", "1"]) == 0
        capsys.readouterr()
        assert main(["evaluate", str(out), gt, "--json"]) == 0
        cli[mode] = json.loads(capsys.readouterr().out)
    bench = ["benchmark", str(data_root), "--seeds", str(seed), "--methods", "dsnf"]
    bench += [*settings, "--train-stride", "4", "-o", str(tmp_path / "b"), "--no-progress"]
    assert main([*bench, "--threads", "1"]) == 0
    (run,) = json.loads((tmp_path / "b" / "benchmark.json").read_text())["runs"]
    assert cli["field"]["auc_roc"] == run["field_auc"]
    assert cli["person"]["auc_roc_person_frames"] == run["person_frames_auc"]
    for key, bench_key in (("auc_roc_macro", "macro_auc"), ("auc_pr", "auc_pr"), ("eer", "eer")):
        assert cli["field"][key] == run[bench_key]
    assert cli["field"]["mode"] == "field" and cli["person"]["mode"] == "person"


def _doc_tables() -> dict[str, dict[str, str]]:
    """docs/cli.md: per subcommand, option -> the default its table quotes."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    out: dict[str, dict[str, str]] = {}
    for section in text.split("\n## ")[1:]:
        m = re.match(r"`pyod-dsnf (\w+)", section)
        if m:
            rows = re.findall(r"^\| `(--[\w-]+)` \| ([^|]*) \|", section, flags=re.MULTILINE)
            out[m.group(1)] = {flag: default.strip() for flag, default in rows}
    return out


def _as_doc(action) -> str:
    if action.default is None:
        return "—"
    if action.nargs == 0:
        return "on" if action.default else "off"
    if isinstance(action.default, list):
        return " ".join(map(str, action.default))
    return str(action.default)


def test_every_default_quoted_in_docs_cli_is_the_commands():
    from pyod_dsnf.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    tables = _doc_tables()
    assert set(tables) == set(sub.choices)
    for command, parser in sub.choices.items():
        actions = {a.option_strings[-1]: a for a in parser._actions if a.option_strings}
        actions.pop("--help")
        assert set(tables[command]) == set(actions), command  # every option documented
        for flag, quoted in tables[command].items():
            assert quoted == _as_doc(actions[flag]), f"{command} {flag}: docs say {quoted!r}"


@pytest.mark.slow
def test_score_on_a_dask_scheduler_gives_the_local_files(model, data_root, tmp_path):
    distributed = pytest.importorskip("distributed")
    test_dir = str(data_root / "pose" / "test")
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["score", str(model), test_dir, "-o", str(local), "--threads", "1"]) == 0
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        args = ["score", str(model), test_dir, "-o", str(remote), "--n-jobs", "2"]
        assert main([*args, "--threads", "1", "--scheduler", cluster.scheduler_address]) == 0
    with np.load(local / "frame_scores.npz") as a, np.load(remote / "frame_scores.npz") as b:
        assert list(a.files) == list(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("epochs must be an integer >= 1, got -1", "--epochs must be an integer >= 1, got -1"),
        (
            "The 'batch_size' parameter of DSNFDetector must be an int in the range [1, inf).",
            "--batch-size of DSNFDetector must be an int in the range [1, inf).",
        ),
        ("pose_dir='x' does not exist", "POSE_DIR='x' does not exist"),
        ("n_epochs_ must be set", "n_epochs_ must be set"),  # not a parameter: unchanged
    ],
)
def test_library_names_become_flags(message, expected):
    from pyod_dsnf.cli.main import _flag_names, _name_flags, build_parser

    assert _name_flags(message, _flag_names(build_parser(), "fit")) == expected
