"""PoseLift on a GPU, the timing part of ``benchmarks/gpu_check.sh`` (docs/gpu.md).

Prints one Markdown row per figure as soon as it is measured (so a run cut short by
the check's time limit keeps what it measured) and writes them all to ``--json``:

* ``fit`` at the defaults on CUDA (``batch_size="auto"``: ``CUDA_TRAIN_BATCH``) on
  PoseLift's training windows (T = 24, stride 6), seconds;
* the frame AUCs of that model (field and person-frames mappings), to set beside
  the CPU protocol's row in docs/benchmark.md;
* ``decision_function`` throughput on CUDA and on the CPU (all cores);
* CUDA vs CPU agreement of that model's scores on the test windows: the largest
  difference, and the float32 rule of ``tests/_devices.py`` (each device against a
  float64 evaluation of the same weights).

    python benchmarks/gpu_timings.py ../shared/data/poselift --json gpu_timings.json

Without CUDA it stops at once with exit status 1. ``--device cpu --epochs 1`` with small
``--n-train`` / ``--n-score`` / ``--n-cpu`` is a dry run of the script itself on a machine
without a GPU (its figures then say nothing about a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/_devices.py: the float32 rule of the CUDA tests

ROWS: list[dict[str, str]] = []


def row(what: str, figure: str, how: str = "") -> None:
    ROWS.append({"what": what, "figure": figure, "how": how})
    print(f"| {what} | {figure} | {how} |", flush=True)


DEVICE = "cuda"


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("poselift", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--n-score", type=int, default=262_144, help="segments scored on CUDA")
    ap.add_argument("--n-cpu", type=int, default=16_384, help="segments scored on the CPU")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="dry runs only (default: estimator)")
    ap.add_argument("--device", default="cuda", help="dry runs only: 'cpu'")
    ap.add_argument("--n-train", type=int, default=None, help="dry runs only: fewer windows")
    a = ap.parse_args(argv)
    global DEVICE
    DEVICE = a.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("gpu_timings: CUDA is not available here", file=sys.stderr)
        return 1
    from pyod_dsnf import DSNFDetector
    from pyod_dsnf.detector._batching import CUDA_TRAIN_BATCH
    from pyod_dsnf.pipeline import Windowing, cut, load, metrics, score, to_frames
    from pyod_dsnf.pipeline.files import load_masks_dir
    from tests._devices import float32_bound, float64_joint_nll

    cores = os.cpu_count() or 1
    gpu = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "no GPU (dry run)"
    print(f"torch {torch.__version__}, {gpu}, {cores} CPU cores")
    print("| what | figure | how |\n|---|---:|---|", flush=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN confidences: counted, set to 0
        train_clips = load(a.poselift / "pose" / "train")
        test_clips = load(a.poselift / "pose" / "test")
    masks = load_masks_dir(a.poselift / "gt" / "test_frame_mask")
    X_train = cut(train_clips, Windowing.train()).segments.X
    if a.n_train is not None:
        X_train = X_train[np.random.default_rng(0).permutation(len(X_train))[: a.n_train]]
    row("PoseLift loaded and cut", f"{time.perf_counter() - t0:.1f} s",
        f"{len(X_train):,} training windows (T = 24, stride 6)")  # fmt: skip

    # fit at the defaults, on CUDA
    det = DSNFDetector(random_state=a.seed, device=DEVICE)
    if a.epochs is not None:
        det.set_params(epochs=a.epochs)
    sync()
    t0 = time.perf_counter()
    det.fit(X_train)
    sync()
    fit_s = time.perf_counter() - t0
    row("fit at the defaults on CUDA", f"{fit_s:.1f} s",
        f"{det.n_epochs_} epochs, batch_size='auto' ({CUDA_TRAIN_BATCH} on CUDA), seed {a.seed}, "
        f"includes CUDA start-up")  # fmt: skip

    # frame AUCs of that model, as docs/benchmark.md's table reads them
    field = metrics(to_frames(score(det, cut(test_clips, Windowing.test("field"))), masks), masks)
    person = metrics(to_frames(score(det, cut(test_clips, Windowing.test("person"))), masks),
                     masks)  # fmt: skip
    row("field AUC / person-frames AUC of that fit",
        f"{100 * field.auc_roc:.2f} / {100 * person.auc_roc_person_frames:.2f}",
        "the CPU protocol (batch 64, 5 seeds): docs/benchmark.md, row dsnf")  # fmt: skip

    # decision_function throughput, CUDA then CPU
    reps = -(-a.n_score // len(X_train))
    X_big = np.concatenate([X_train] * reps)[: a.n_score]
    det.decision_function(X_big[:16_384])  # warm-up: kernels, pinned buffers
    sync()
    t0 = time.perf_counter()
    det.decision_function(X_big)
    sync()
    gpu_s = time.perf_counter() - t0
    row("decision_function on CUDA", f"{len(X_big) / gpu_s:,.0f} segments/s",
        f"{len(X_big):,} segments (training windows repeated) in {gpu_s:.2f} s")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        blob = Path(os.environ.get("TMPDIR", "/tmp")) / "gpu_timings.dsnf"
        det.save(blob)
        cpu = DSNFDetector.load(blob, device="cpu")
    cpu.set_params(n_threads=cores)
    X_cpu = X_big[: a.n_cpu]
    cpu.decision_function(X_cpu[:1024])
    t0 = time.perf_counter()
    cpu.decision_function(X_cpu)
    cpu_s = time.perf_counter() - t0
    row("decision_function on the CPU", f"{len(X_cpu) / cpu_s:,.0f} segments/s",
        f"{len(X_cpu):,} segments, {cores} torch threads")  # fmt: skip

    # CUDA vs CPU agreement on the test windows
    X_test = cut(test_clips, Windowing.test("field")).segments.X
    on_gpu, on_cpu = det.joint_nll(X_test), cpu.joint_nll(X_test)
    ref = float64_joint_nll(cpu, X_test)
    diff = np.abs(on_gpu - on_cpu)
    rel = diff / np.maximum(np.abs(on_cpu), 1e-12)
    row("CUDA vs CPU, per-joint NLL (bits/dim)", f"{diff.max():.2e} abs, {rel.max():.2e} rel",
        f"{len(X_test):,} test windows")  # fmt: skip
    bound = float32_bound(ref, on_cpu)
    ok = bool((np.abs(on_gpu - ref) <= bound).all())
    row("CUDA within the float32 rule", "yes" if ok else "NO",
        f"largest error against float64: CUDA {np.abs(on_gpu - ref).max():.2e}, "
        f"CPU {np.abs(on_cpu - ref).max():.2e} (tests/_devices.py)")  # fmt: skip
    s_gpu, s_cpu = det.anomaly_scores_from_joint(on_gpu), cpu.anomaly_scores_from_joint(on_cpu)
    row("CUDA vs CPU, anomaly scores", f"{np.abs(s_gpu - s_cpu).max():.2e} abs", "")
    if a.json is not None:
        a.json.write_text(json.dumps(ROWS, indent=1))
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
