"""benchmarks/merge_results.py: pooled seeds, a repeated seed counted once."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "merge_results.py"


def _merge_main():
    spec = importlib.util.spec_from_file_location("merge_results", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _run(method: str, seed: int, auc: float) -> dict:
    return {"method": method, "seed": seed, "field_auc": auc, "person_frames_auc": auc,
            "macro_auc": auc, "auc_pr": auc, "eer": 0.3, "fit_seconds": 1.0,
            "throughput": 10.0}  # fmt: skip


def _write(path: Path, runs: list[dict]) -> Path:
    path.write_text(json.dumps({"runs": runs}))
    return path


def test_seeds_pool_and_a_repeated_seed_counts_once(tmp_path, capsys):
    a = _write(tmp_path / "a.json", [_run("dsnf", 0, 0.70), _run("random", 0, 0.60)])
    b = _write(tmp_path / "b.json", [_run("dsnf", 1, 0.80), _run("random", 0, 0.60)])
    _merge_main()([str(a), str(b)])
    out = capsys.readouterr().out
    assert "| dsnf | 0,1 | 75.00 ± 5.00 |" in out
    assert "| random | 0 | 60.00 ± 0.00 |" in out


def test_a_repeated_seed_with_other_metrics_is_refused(tmp_path):
    a = _write(tmp_path / "a.json", [_run("dsnf", 0, 0.70)])
    b = _write(tmp_path / "b.json", [_run("dsnf", 0, 0.71)])
    with pytest.raises(SystemExit, match="dsnf seed 0 differs"):
        _merge_main()([str(a), str(b)])
