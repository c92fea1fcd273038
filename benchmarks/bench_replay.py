"""Person-frames/s of ``pyod-dsnf stream`` on a replayed folder: defaults vs one line at a time.

Writes ``pyod-dsnf replay POSE_DIR`` to a temporary file (so the replay's own cost is
not timed), keeps its first ``--lines`` lines, then times ``pyod-dsnf stream MODEL``
on it in a fresh process with the default settings (latency-bounded batches,
``--max-latency 20``, both cores) and with ``--batch 1 --max-latency 0 --jobs 1`` (one
line at a time, the default before issue 17), and compares their scores::

    python benchmarks/bench_replay.py poselift.dsnf /work/shared/data/poselift/pose/test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _stream(model: str, lines: Path, out: Path, extra: list[str]) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "pyod_dsnf.cli", "stream", model, str(lines), "-o", str(out),
           *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stderr.strip().splitlines()[-1]


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
        scores = {}
        for name, extra in (("default", []),
                            ("--batch 1 --max-latency 0 --jobs 1", ["--batch", "1",
                                                                    "--max-latency", "0",
                                                                    "--jobs", "1"])):  # fmt: skip
            out = Path(tmp) / "out.jsonl"
            wall, summary = _stream(args.model, lines, out, extra)
            recs = [json.loads(t) for t in out.read_text().splitlines()]
            scores[name] = np.array([r["score"] for r in recs])
            print(f"  {name:<36} {wall:6.1f} s wall (process start and model load included): "
                  f"{n_poses / wall:,.0f} person-frames/s; load {os.getloadavg()[0]:.2f}; "
                  f"{summary}", flush=True)  # fmt: skip
        a, b = scores.values()
        print(f"  same records: {len(a) == len(b)}; max |score difference| "
              f"{np.max(np.abs(a - b)) if len(a) == len(b) else float('nan'):.2e}")


if __name__ == "__main__":
    main()
