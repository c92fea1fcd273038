"""The benchmark: DSNF, its ablations, PyOD detectors and a random control, over seeds.

``pyod-dsnf benchmark DATA_DIR`` calls :func:`run_benchmark`. Every method gets the
same training segments and the same test segments; the segment scores go through the
same two frame mappings (docs/evaluation.md):

* **field**: STG-NF's protocol on the raw test tracks (T frames, stride 1, short runs
  skipped; centre frame, max over persons, cascade of Gaussian smoothings);
* **person**: gaps of up to 2 frames filled, short test tracks padded, every tracked
  frame scored (mean over the windows covering it, max over persons).

Reported per method, mean and std over seeds: field AUC-ROC (all frames), person-frames
AUC-ROC (person protocol, frames with a tracked person only), and, under the field
protocol, macro AUC-ROC, AUC-PR and EER; fit seconds, scoring throughput and peak memory.
The JSON file also holds every figure of both protocols for every seed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.detector._device import torch_threads
from pyod_dsnf.experiments.baselines import PYOD_SETTINGS, flat_segments
from pyod_dsnf.experiments.compare import (
    DSNF_VARIANTS,
    MethodResult,
    all_methods,
    evaluate_methods,
    peak_rss_mib,
    reset_peak_rss,
)
from pyod_dsnf.pipeline import SegmentSet, Windowing, cut
from pyod_dsnf.pipeline.parallel import check_n_jobs, worker_threads

__all__ = ["BenchmarkResult", "format_markdown", "peak_rss_mib", "run_benchmark"]

#: (key, column title): every title names its frame mapping ("field" or "person").
_METRICS = (
    ("field_auc", "field AUC (all frames)"),
    ("person_frames_auc", "person AUC (person frames)"),
    ("macro_auc", "field macro AUC"),
    ("auc_pr", "field AUC-PR"),
    ("eer", "field EER"),
)
_COSTS = (
    ("fit_seconds", "fit s"),
    ("throughput", "segments/s"),
    ("peak_rss_mib", "peak RSS MiB"),
)


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` measured.

    Attributes
    ----------
    rows : list of dict
        Per method: ``method``, ``n_seeds`` and ``<metric>_mean`` / ``<metric>_std``
        for every metric and cost.
    runs : list of dict
        Per method and seed: every figure (both frame protocols in full).
    setup : dict
        Data sizes and settings.
    markdown : str
        The table printed and written.
    paths : dict of str to Path
        ``"markdown"`` and ``"json"`` files written.
    """

    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]] = field(repr=False)
    setup: dict[str, Any]
    markdown: str
    paths: dict[str, Path]


def _fmt(mean: float, std: float, scale: float, digits: int) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def format_markdown(rows: Sequence[dict[str, Any]], setup: dict[str, Any]) -> str:
    """The benchmark's Markdown table (AUCs in percent, mean ± std over seeds)."""
    head = ["method", "seeds"] + [t for _, t in _METRICS] + [t for _, t in _COSTS]
    lines = ["| " + " | ".join(head) + " |", "|---|---:|" + "---:|" * (len(head) - 2)]
    for r in rows:
        cells = [r["method"], str(r["n_seeds"])]
        for key, _ in _METRICS:
            scale, digits = (1.0, 3) if key == "eer" else (100.0, 2)
            cells.append(_fmt(r[f"{key}_mean"], r[f"{key}_std"], scale, digits))
        cells.append(f"{r['fit_seconds_mean']:.1f}")
        cells.append(f"{r['throughput_mean']:,.0f}")
        cells.append(f"{r['peak_rss_mib_mean']:,.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"\n{setup['n_train_segments']} training segments (T = {setup['seg_len']}, stride "
        f"{setup['train_stride']}"
        + (
            f", at most {setup['max_train_segments']} per seed"
            if setup["max_train_segments"]
            else ""
        )
        + f"); {setup['n_test_segments_field']} field / {setup['n_test_segments_person']} person "
        "test segments. field: the field (STG-NF) frame mapping; person: the person mapping "
        "(docs/evaluation.md). std over seeds (ddof=0). Throughput: test segments scored per "
        "second (both sets). PyOD methods and the control get the normalized, flattened segments "
        f"computed once ({setup['normalize_seconds']:.1f} s, not in their times; DSNF "
        "normalizes inside fit and scoring). Peak RSS: process peak during the method "
        f"({setup['memory_measure']})."
    )
    return "\n".join(lines) + "\n" + note


def _check_methods(methods: Sequence[str]) -> list[str]:
    methods = list(methods)
    known = all_methods()
    bad = [m for m in methods if m not in known]
    if bad or not methods:
        raise ValueError(f"methods must be a non-empty selection of {known}, got {methods}")
    return methods


def run_benchmark(
    data_dir: str | os.PathLike,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    methods: Sequence[str] = all_methods(),
    seg_len: int = 24,
    train_stride: int = 6,
    epochs: int | None = None,
    max_train_segments: int | None = None,
    out_dir: str | os.PathLike = "benchmark_results",
    progress: bool = True,
    n_jobs: int = 1,
    threads: int | None = None,
    fmt: str = "tracked",
) -> BenchmarkResult:
    """Run every method over every seed on a dataset in the pose/train, pose/test, gt layout.

    Parameters
    ----------
    data_dir : str or path
        Dataset root (:func:`pyod_dsnf.datasets.load_dataset`), e.g. PoseLift.
    seeds : sequence of int, default=(0, 1, 2, 3, 4)
        One run of every method per seed.
    methods : sequence of str, default=all
        Any of ``dsnf`` (defaults), ``dsnf-euclidean`` (``hidden_channels=2``, STG-NF's
        size), ``dsnf-hyperbolic``, ``dsnf-noawam`` (``awam_lambda=0``), the PyOD
        detectors of :data:`pyod_dsnf.experiments.baselines.PYOD_METHODS` and ``random``.
    seg_len : int, default=24
        Segment length T.
    train_stride : int, default=6
        Stride of the training windows (test windows use stride 1).
    epochs : int, optional
        DSNF epochs; None keeps the estimator's default.
    max_train_segments : int, optional
        Subsample the training segments (per seed, without replacement).
    out_dir : str or path, default="benchmark_results"
        Receives ``benchmark.md`` and ``benchmark.json``.
    progress : bool, default=True
        A tqdm progress bar over (seed, method) runs.
    n_jobs : int, default=1
        Seeds run in this many joblib workers (processes; any joblib backend, e.g.
        Dask). The figures do not depend on it (at a fixed ``threads``); the fit
        times and peak memory are those of the worker.
    threads : int, optional
        Torch CPU threads in each worker (default: ``cpu_count // n_jobs``; with
        ``n_jobs=1`` this process's setting is kept).
    fmt : str, default="tracked"
        Pose format of the clips (:func:`pyod_dsnf.poses.pose_formats`, or "auto").

    Returns
    -------
    BenchmarkResult
    """
    methods = _check_methods(methods)
    n_jobs = check_n_jobs(n_jobs)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got an empty list")
    if max_train_segments is not None and max_train_segments < 2:
        raise ValueError(f"max_train_segments must be None or >= 2, got {max_train_segments}")
    root = Path(data_dir)
    if not root.is_dir():
        raise ValueError(f"data_dir={str(root)!r} is not a folder")
    ds = load_dataset(root, fmt=fmt)
    tr = cut(ds.train, Windowing.train(seg_len, train_stride))
    te_field = cut(ds.test, Windowing.test("field", seg_len))
    te_person = cut(ds.test, Windowing.test("person", seg_len))
    if len(tr) < 2:
        raise ValueError(f"data_dir={str(root)!r} gives {len(tr)} training segments of T={seg_len}")
    dsnf_params: dict[str, Any] = {} if epochs is None else {"epochs": int(epochs)}
    t0 = time.perf_counter()
    flat_tests = [flat_segments(te_field.segments.X), flat_segments(te_person.segments.X)]
    flat_train_all = flat_segments(tr.segments.X)
    normalize_seconds = time.perf_counter() - t0
    can_reset = reset_peak_rss()
    setup = {
        "data_dir": str(root),
        "seeds": seeds,
        "methods": methods,
        "seg_len": seg_len,
        "train_stride": train_stride,
        "max_train_segments": max_train_segments,
        "n_train_segments": len(tr),
        "n_test_segments_field": len(te_field),
        "n_test_segments_person": len(te_person),
        "normalize_seconds": normalize_seconds,
        "dsnf_params": dsnf_params,
        "dsnf_variants": DSNF_VARIANTS,
        "pyod_settings": PYOD_SETTINGS,
        "n_jobs": int(n_jobs),
        "memory_measure": "VmHWM of /proc/self/status, reset before each method"
        if can_reset
        else "ru_maxrss: process peak since start",
    }
    job = (methods, tr.segments.X, flat_train_all, [te_field, te_person], flat_tests, ds.masks,
           dsnf_params, max_train_segments)  # fmt: skip
    bar = tqdm(total=len(seeds) * len(methods), desc="benchmark", disable=not progress)
    if n_jobs == 1:
        per_seed = [_run_seed(seed, *job, bar=bar) for seed in seeds]
    else:
        from joblib import Parallel, delayed

        n_threads = worker_threads(n_jobs) if threads is None else threads
        per_seed = []
        for runs_of_seed in Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_run_seed)(seed, *job, threads=n_threads) for seed in seeds
        ):
            per_seed.append(runs_of_seed)
            bar.update(len(methods))
    runs = [r for seed_runs in per_seed for r in seed_runs]
    bar.close()
    rows = []
    for method in methods:
        mine = [r for r in runs if r["method"] == method]
        row: dict[str, Any] = {"method": method, "n_seeds": len(mine)}
        for key, _ in (*_METRICS, *_COSTS):
            v = np.array([r[key] for r in mine], dtype=float)
            row[f"{key}_mean"] = float(np.mean(v))
            row[f"{key}_std"] = float(np.std(v))
        rows.append(row)
    markdown = format_markdown(rows, setup)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "benchmark.md", "json": out / "benchmark.json"}
    paths["markdown"].write_text(markdown + "\n", encoding="utf-8")
    paths["json"].write_text(
        json.dumps(
            {"setup": setup, "rows": rows, "runs": runs, "time": time.strftime("%Y-%m-%d %H:%M")},
            indent=1,
            default=_json_default,
        ),
        encoding="utf-8",
    )
    return BenchmarkResult(rows=rows, runs=runs, setup=setup, markdown=markdown, paths=paths)


def _run_seed(
    seed: int,
    methods: Sequence[str],
    X_train: np.ndarray,
    flat_train: np.ndarray,
    tests: Sequence[SegmentSet],
    flat_tests: Sequence[np.ndarray],
    masks: dict[str, np.ndarray],
    dsnf_params: dict[str, Any],
    max_train_segments: int | None,
    *,
    threads: int | None = None,
    bar: Any = None,
) -> list[dict[str, Any]]:
    """Every method on one seed: the unit of work of a benchmark worker."""
    X, F = X_train, flat_train
    if max_train_segments is not None and len(X) > max_train_segments:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(X), max_train_segments, replace=False))
        X, F = X[pick], F[pick]
    with torch_threads(threads):
        results = evaluate_methods(
            methods, X, tests, masks, random_state=seed, dsnf_params=dsnf_params,
            flat=(F, flat_tests), bar=bar,
        )  # fmt: skip
    return [_run_record(r, seed, len(X)) for r in results]


def _run_record(res: MethodResult, seed: int, n_train: int) -> dict[str, Any]:
    field_m, person_m = res.metrics
    run = res.run
    return {
        "method": run.method,
        "seed": seed,
        "n_train_segments": n_train,
        "field_auc": field_m.auc_roc,
        "person_frames_auc": person_m.auc_roc_person_frames,
        "macro_auc": field_m.auc_roc_macro,
        "auc_pr": field_m.auc_pr,
        "eer": field_m.eer,
        "fit_seconds": run.fit_seconds,
        "score_seconds": run.score_seconds,
        "throughput": run.throughput,
        "peak_rss_mib": res.peak_rss_mib,
        "params": run.params,
        "field": _clean(field_m.as_dict()),
        "person": _clean(person_m.as_dict()),
    }


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    return repr(o)
