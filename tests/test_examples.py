"""Every example runs on its small setting, so they never rot."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_example(name: str, args: list[str], monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_quickstart(monkeypatch, capsys):
    run_example("quickstart.py", ["--small"], monkeypatch)
    out = capsys.readouterr().out
    assert "AUC-ROC" in out  # reloaded onto the fitting device (CUDA on a GPU machine)
    assert re.search(r"fitted on (\S+), reloaded onto \1: same scores", out), out


def test_grid_search_curvature(monkeypatch, capsys):
    run_example("grid_search_curvature.py", ["--small", "--curvatures", "0.5", "2"], monkeypatch)
    out = capsys.readouterr().out
    assert out.count("held-out log-likelihood") == 2 and "chosen curvature" in out


def test_compare_pyod(monkeypatch, capsys):
    run_example("compare_pyod.py", ["--small"], monkeypatch)
    out = capsys.readouterr().out
    for name in ("DSNF", "IForest", "LOF", "KNN", "ECOD"):
        assert f"\n{name} " in out


def test_iforest_synthetic(monkeypatch, capsys):
    run_example("iforest_synthetic.py", [], monkeypatch)
    assert "mode='field'" in capsys.readouterr().out


@pytest.mark.slow
def test_poselift_frame_auc(poselift_path, monkeypatch, capsys):
    run_example("poselift_frame_auc.py", [str(poselift_path), "--small"], monkeypatch)
    out = capsys.readouterr().out
    assert "trained on 300 segments" in out and "[field]" in out and "[person]" in out


@pytest.mark.slow
def test_random_scores_poselift(poselift_path, monkeypatch, capsys):
    run_example("random_scores_poselift.py", [str(poselift_path), "5"], monkeypatch)
    assert "[person]" in capsys.readouterr().out
