"""Person-frames/s of ``pyod-dsnf stream`` on a replayed folder: defaults vs one line at a time.

Writes ``pyod-dsnf replay POSE_DIR`` to a temporary file (so the replay's own cost is
not timed), keeps its first ``--lines`` lines, then times ``pyod-dsnf stream MODEL``
on it (``pyod_dsnf.cli.main`` in this process, after a warm-up run, so imports and
start-up are not timed) with the default settings (latency-bounded batches,
``--max-latency 20``, both cores) and with ``--batch 1 --max-latency 0 --jobs 1`` (one
line at a time, the default before issue 17), in wall time and in this process's CPU
time (all threads), and compares their scores::

    python benchmarks/bench_replay.py poselift.dsnf /work/shared/data/poselift/pose/test
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _stream(model: str, lines: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    from pyod_dsnf.cli import main

    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stderr(io.StringIO()):
        if main(["stream", model, str(lines), "-o", str(out), *extra]) != 0:
            raise SystemExit("pyod-dsnf stream failed")
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("pose_dir")
    ap.add_argument("--lines", type=int, default=3000, help="replayed lines to stream (0: all)")
    ap.add_argument("--camera", default="prefix", choices=("clip", "prefix"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "replay.jsonl"
        subprocess.run([sys.executable, "-m", "pyod_dsnf.cli", "replay", args.pose_dir,
                        "--camera", args.camera, "-o", str(full)], check=True)  # fmt: skip
        text = full.read_text().splitlines()
        text = text[: args.lines] if args.lines else text
        lines = Path(tmp) / "lines.jsonl"
        lines.write_text("\n".join(text) + "\n")
        n_poses = sum(len(json.loads(t)["people"]) for t in text)
        print(f"{len(text)} lines, {n_poses} person-frames (--camera {args.camera}); "
              f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
        out = Path(tmp) / "out.jsonl"
        _stream(args.model, lines, out, ["--batch", "1"])  # warm-up: imports, model load
        scores = {}
        for name, extra in (("default", []),
                            ("--batch 1 --max-latency 0 --jobs 1", ["--batch", "1",
                                                                    "--max-latency", "0",
                                                                    "--jobs", "1"])):  # fmt: skip
            wall, cpu = _stream(args.model, lines, out, extra)
            recs = [json.loads(t) for t in out.read_text().splitlines()]
            scores[name] = np.array([r["score"] for r in recs])
            print(f"  {name:<36} {n_poses / wall:>7,.0f} person-frames/s ({wall:.1f} s wall), "
                  f"{n_poses / cpu:>7,.0f} per CPU-second; {len(recs)} scores; load "
                  f"{os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        a, b = scores.values()
        print(f"  same records: {len(a) == len(b)}; max |score difference| "
              f"{np.max(np.abs(a - b)) if len(a) == len(b) else float('nan'):.2e}")


if __name__ == "__main__":
    main()
