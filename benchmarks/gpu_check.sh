#!/usr/bin/env bash
# GPU check of pyod-dsnf, for a fresh GPU machine without network (docs/gpu.md):
#
#   1. stops with exit status 1 when CUDA is not available (a check that skips is no check);
#   2. the CUDA tests: tests/test_gpu.py, test_gpu_scoring.py, test_device.py (none may skip);
#   3. the whole test suite, in parallel (pytest-xdist), where device="auto" is CUDA;
#   4. PoseLift timings (benchmarks/gpu_timings.py): fit at the defaults on CUDA, its frame
#      AUCs, decision_function throughput on CUDA and the CPU, CUDA vs CPU agreement;
#
# and writes the results as Markdown tables to OUT_DIR/gpu_check.md (with the logs beside it).
# Each part has its own time limit; the defaults add up to 8 minutes.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]            # from anywhere; OUT_DIR: gpu-check/
#
# Nothing is fetched. pyod_dsnf runs from this checkout (PYTHONPATH). Packages the machine
# lacks travel as wheels in .whl/ at the repository root (benchmarks/gpu_wheels.sh fetches
# them on a machine with network); when .whl/ exists they are installed into a private
# folder first. PoseLift: $POSELIFT_DIR, else ../shared/data/poselift, else
# shared/data/poselift inside the checkout (git-ignored; how to carry it: docs/gpu.md).
#
# Settings (environment): PYTHON (python3), WORKERS (pytest -n; cores - 2),
# T_CUDA (90), T_SUITE (240), T_TIMINGS (150): seconds per part.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-gpu-check}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
T_CUDA=${T_CUDA:-90}
T_SUITE=${T_SUITE:-240}
T_TIMINGS=${T_TIMINGS:-150}
CORES=$(nproc)
WORKERS=${WORKERS:-$((CORES > 3 ? CORES - 2 : 1))}
REPORT="$OUT/gpu_check.md"
status=0

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    site=$(mktemp -d)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" .whl/*.whl || { echo "gpu_check: installing .whl/*.whl failed"; exit 1; }
    export PYTHONPATH="$site"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# 1. CUDA, and everything importable
if ! "$PY" - <<'PYTHON'
import sys

import torch

if not torch.cuda.is_available():
    sys.exit("gpu_check: FAILED: CUDA is not available here (torch %s)" % torch.__version__)
import geoopt  # noqa: F401
import pyod  # noqa: F401

import pyod_dsnf  # noqa: F401
PYTHON
then
    echo "gpu_check: FAILED before any test (see above; missing packages: docs/gpu.md)"
    exit 1
fi

for d in "${POSELIFT_DIR:-}" ../shared/data/poselift shared/data/poselift; do
    if [ -n "$d" ] && [ -d "$d/pose/train" ]; then POSELIFT=$(cd "$d" && pwd); break; fi
done
export POSELIFT_DIR=${POSELIFT:-}

{
    echo "# GPU check"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    "$PY" -c "import torch; print(f'torch {torch.__version__}, {torch.cuda.get_device_name(0)}')"
    nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | sed 's/^/driver /'
    echo "$CORES CPU cores; PoseLift: ${POSELIFT:-not found}"
    echo
    echo "| part | result | seconds |"
    echo "|---|---|---:|"
} > "$REPORT"

part() {  # part NAME LIMIT LOG COMMAND...: run, time, one table row; a failure fails the check
    local name=$1 limit=$2 log=$3
    shift 3
    local t0=$SECONDS rc
    timeout "$limit" "$@" > "$log" 2>&1
    rc=$?
    local took=$((SECONDS - t0)) result
    result=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|(passed|failed|error).* in [0-9.]+s' "$log" \
        | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')
    if [ $rc -eq 124 ]; then result="TIMED OUT after ${limit} s; ${result}"; fi
    if [ $rc -ne 0 ]; then status=1; result="FAILED (exit $rc): ${result:-see $(basename "$log")}"; fi
    echo "| $name | ${result:-ok} | $took |" >> "$REPORT"
    echo "== $name: ${result:-ok} ($took s)"
}

# 2. the CUDA tests: none may skip here
part "CUDA tests" "$T_CUDA" "$OUT/cuda_tests.log" \
    "$PY" -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py tests/test_gpu_scoring.py \
    tests/test_device.py
if grep -q "^SKIPPED.*test_gpu" "$OUT/cuda_tests.log"; then
    status=1
    echo "| CUDA tests | FAILED: some skipped on a machine with CUDA | |" >> "$REPORT"
fi

# 3. the whole suite (in parallel where pytest-xdist is there, as in the GPU image)
if "$PY" -c "import xdist" 2>/dev/null; then PAR=(-n "$WORKERS"); else PAR=(); WORKERS=1; fi
part "whole suite ($WORKERS workers)" "$T_SUITE" "$OUT/suite.log" \
    "$PY" -m pytest -q -rfEs -p no:cacheprovider "${PAR[@]}" tests

# 4. PoseLift timings
if [ -n "${POSELIFT:-}" ]; then
    part "PoseLift timings" "$T_TIMINGS" "$OUT/timings.log" \
        "$PY" benchmarks/gpu_timings.py "$POSELIFT" --json "$OUT/timings.json"
    { echo; echo "## PoseLift timings"; echo; grep '^|' "$OUT/timings.log"; } >> "$REPORT"
else
    status=1
    echo "| PoseLift timings | FAILED: no PoseLift copy (docs/gpu.md) | |" >> "$REPORT"
fi

echo
cat "$REPORT"
exit $status
