"""run_benchmark: seeds in parallel processes give the figures of one process."""

from __future__ import annotations

import pytest

from pyod_dsnf.datasets import make_pose_tracks, save_pose_dataset
from pyod_dsnf.experiments.benchmark import run_benchmark

FIGURES = ("field_auc", "person_frames_auc", "macro_auc", "auc_pr", "eer", "n_train_segments")


@pytest.mark.slow
def test_seeds_in_two_processes_give_the_one_process_figures(tmp_path):
    root = save_pose_dataset(make_pose_tracks(3, 3, n_frames=80, random_state=2), tmp_path / "d")
    kw = {"seeds": [0, 1], "methods": ["dsnf-euclidean", "iforest"], "seg_len": 8}
    kw.update(train_stride=4, epochs=1, max_train_segments=40, progress=False, threads=1)
    one = run_benchmark(root, out_dir=tmp_path / "one", n_jobs=1, **kw)
    two = run_benchmark(root, out_dir=tmp_path / "two", n_jobs=2, **kw)
    order = [(r["seed"], r["method"]) for r in one.runs]
    assert [(r["seed"], r["method"]) for r in two.runs] == order
    for a, b in zip(one.runs, two.runs, strict=True):
        assert {k: a[k] for k in FIGURES} == {k: b[k] for k in FIGURES}
        assert a["field"] == b["field"] and a["person"] == b["person"]
    assert one.runs[0]["field_auc"] != one.runs[2]["field_auc"]  # seeds differ: a real check


def test_n_jobs_is_checked(tmp_path):
    with pytest.raises(ValueError, match="n_jobs must be a non-zero integer"):
        run_benchmark(tmp_path, n_jobs=0)
