#!/usr/bin/env bash
# Fetch, on a machine with network, the wheels that benchmarks/gpu_check.sh needs on an
# offline GPU machine whose image has torch, numpy, scipy, scikit-learn, numba, joblib,
# tqdm, matplotlib, pytest, pytest-xdist and hypothesis but not these (docs/gpu.md):
#
#   bash benchmarks/gpu_wheels.sh        # writes .whl/ at the repository root (git-ignored)
#
# pyod and geoopt are needed by pyod_dsnf; norfair and filterpy by the tracking tests (the
# suite skips what needs dask or imageio-ffmpeg). All four are pure Python: `pip wheel`
# builds a py3-none-any wheel where PyPI has only a source archive, so the wheels fit any
# Python 3 and any platform (about 0.7 MB in all).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip wheel -q --no-deps -w .whl pyod==3.6.7 geoopt==0.5.1 norfair==2.3.0 filterpy==1.4.5
ls -l .whl
