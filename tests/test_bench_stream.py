"""benchmarks/bench_stream.py runs end to end on a tiny model and a tiny stream."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests._stream_helpers import detector

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_stream.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_stream", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("stub", [False, True])
def test_bench_stream_reports_throughput_latency_and_memory(tmp_path, capsys, stub):
    model = tmp_path / "m.dsnf"
    detector().save(model)
    out = tmp_path / "r.json"
    args = ["--model", str(model), "--minutes", "0.05", "--cameras", "2", "--people", "3",
            "--lifetime", "0.5", "--threads", "1", "--rss-every", "0.5", "--json", str(out)]
    assert _module().main([*args, *(["--no-model"] if stub else [])]) == 0
    res = json.loads(out.read_text())
    n_frames = round(0.05 * 60 * 30)
    assert res["person_frames"] == (n_frames - 7) * 6  # T - 1 = 7 warm-up frames left out
    assert res["records"] > 0 and res["person_frames_per_s"] > 0
    assert res["latency_p50_ms"] <= res["latency_p99_ms"] <= res["latency_max_ms"]
    assert len(res["rss_samples"]) == 1 + n_frames // 15
    assert res["stats"]["n_forgotten"] > 0  # people leave every 15 frames and are forgotten
    assert "person-frames/s" in capsys.readouterr().out
