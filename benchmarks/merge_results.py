"""Merge several ``pyod-dsnf benchmark`` runs (their benchmark.json) into one table.

Runs of the same method from different invocations (e.g. seeds run in parallel
processes) are pooled; mean ± std (ddof = 0) over the pooled seeds. A seed that appears in
several files (e.g. the random control) counts once, and must have the same metrics.

Usage::

    python benchmarks/merge_results.py run_a/benchmark.json run_b/benchmark.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

COLUMNS = (
    ("field_auc", "field AUC", 100),
    ("person_frames_auc", "person-frames AUC", 100),
    ("macro_auc", "macro AUC", 100),
    ("auc_pr", "AUC-PR", 100),
    ("eer", "EER", 1),
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args(argv)
    runs: dict[str, list[dict]] = defaultdict(list)
    seen: dict[tuple[str, int], tuple[Path, dict]] = {}
    for path in args.files:
        for run in json.loads(path.read_text())["runs"]:
            key = (run["method"], run["seed"])
            if key in seen:
                # the same seed twice (e.g. the random control in several invocations) is one
                # run: counting it twice would shrink the spread, so it must agree and is kept once
                first_path, first = seen[key]
                if any(first[k] != run[k] for k, _, _ in COLUMNS):
                    raise SystemExit(
                        f"{run['method']} seed {run['seed']} differs between {first_path} and "
                        f"{path}; merge runs of one code version and settings only"
                    )
                continue
            seen[key] = (path, run)
            runs[run["method"]].append(run)
    header = ["method", "seeds", *(c[1] for c in COLUMNS), "fit s", "segments/s"]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for method, items in runs.items():
        seeds = sorted(r["seed"] for r in items)
        cells = [method, ",".join(map(str, seeds))]
        for key, _, scale in COLUMNS:
            v = np.array([r[key] for r in items], dtype=float) * scale
            digits = 3 if scale == 1 else 2
            cells.append(f"{v.mean():.{digits}f} ± {v.std():.{digits}f}")
        cells.append(f"{np.mean([r['fit_seconds'] for r in items]):.0f}")
        cells.append(f"{np.mean([r['throughput'] for r in items]):,.0f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
