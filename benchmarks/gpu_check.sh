#!/usr/bin/env bash
# GPU check of pyod-dsnf: the CUDA tests, then training and scoring timed on CUDA and
# on the CPU, with the scores of one model compared across the two devices.
#
#   bash benchmarks/gpu_check.sh                  # from the repository root
#   PYTHON=.venv/bin/python N_TRAIN=8192 N_SCORE=65536 EPOCHS=2 bash benchmarks/gpu_check.sh
#
# Without CUDA the CUDA tests are skipped (pytest says so) and only the CPU rows are
# timed. Settings (environment): PYTHON (python), THREADS (CPU torch threads, 2),
# N_TRAIN (training segments, 2048), N_SCORE (scored segments, 16384), EPOCHS (1),
# SEG_LEN (24). The model is DSNFDetector's default size.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export OMP_NUM_THREADS=${THREADS:-2}

echo "== CUDA tests (skipped without CUDA)"
"$PY" -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py tests/test_device.py

echo
echo "== timings"
"$PY" - <<'PYTHON'
import os
import tempfile
import time
import warnings

import numpy as np
import torch

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.poses import segment_tracks

threads = int(os.environ.get("THREADS", 2))
n_train = int(os.environ.get("N_TRAIN", 2048))
n_score = int(os.environ.get("N_SCORE", 16384))
epochs = int(os.environ.get("EPOCHS", 1))
seg_len = int(os.environ.get("SEG_LEN", 24))
torch.set_num_threads(threads)

ds = make_pose_tracks(n_train_clips=8, n_test_clips=4, random_state=0)
pool = segment_tracks(ds.train + ds.test, seg_len=seg_len, stride=1).X
rng = np.random.default_rng(0)
X_train = pool[rng.integers(len(pool), size=n_train)]
X_score = pool[rng.integers(len(pool), size=n_score)]
cuda = torch.cuda.is_available()
name = torch.cuda.get_device_name(0) if cuda else "-"
print(f"torch {torch.__version__}, CPU threads {threads}, CUDA: {name if cuda else 'not available'}")
print(f"{n_train} training segments x {epochs} epoch(s), {n_score} scored, T = {seg_len}")


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def fit(device):
    det = DSNFDetector(epochs=epochs, random_state=0, device=device, n_threads=threads)
    sync(device)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        det.fit(X_train)
    sync(device)
    return det, time.perf_counter() - t0


def score(det):
    det.decision_function(X_score[:256])  # warm-up (CUDA context, kernels)
    sync(det.device_.split(":")[0])
    t0 = time.perf_counter()
    scores = det.decision_function(X_score)
    sync(det.device_.split(":")[0])
    return scores, time.perf_counter() - t0


rows, models = [], {}
for device in ["cpu"] + (["cuda"] if cuda else []):
    det, fit_s = fit(device)
    scores, score_s = score(det)
    models[device] = (det, scores)
    rows.append((device, fit_s, n_train * det.n_epochs_ / fit_s, score_s, n_score / score_s))

print()
print("| device | fit s | training segments/s (input x epochs) | score s | scoring segments/s |")
print("|---|---:|---:|---:|---:|")
for device, fit_s, fit_rate, score_s, rate in rows:
    print(f"| {device} | {fit_s:.2f} | {fit_rate:,.0f} | {score_s:.2f} | {rate:,.0f} |")
if cuda:
    cpu_rate, gpu_rate = rows[0][4], rows[1][4]
    print(f"\nscoring speed-up CUDA / CPU: {gpu_rate / cpu_rate:.1f}x; "
          f"training: {rows[1][2] / rows[0][2]:.1f}x")
    with tempfile.TemporaryDirectory() as tmp:
        print("\n| model fitted on | scored on | max abs diff | max rel diff |")
        print("|---|---|---:|---:|")
        for fitted_on, other in (("cuda", "cpu"), ("cpu", "cuda")):
            det, ref = models[fitted_on]
            det.save(f"{tmp}/m.dsnf")
            moved = DSNFDetector.load(f"{tmp}/m.dsnf", device=other).decision_function(X_score)
            diff = np.abs(moved - ref)
            rel = diff / np.maximum(np.abs(ref), 1e-12)
            print(f"| {fitted_on} | {other} | {diff.max():.2e} | {rel.max():.2e} |")
        print("(the CUDA tests require both below 1e-5)")
else:
    print("\nCUDA rows skipped: CUDA is not available here")
PYTHON
