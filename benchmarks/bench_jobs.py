"""decision_function with n_jobs=1 and n_jobs=2 alternating, in one process.

The default model fitted for one epoch on 512 raw pixel segments, then 8,192 segments
scored with ``n_jobs`` 1, 2, 1, 2 (one intra-op thread per job); prints segments/s and the
load average of each call::

    python benchmarks/bench_jobs.py
"""

import os
import time

import numpy as np

from pyod_dsnf import DSNFDetector

rng = np.random.default_rng(0)
n, t = 8192, 24
base = rng.uniform(100, 500, size=(1, 1, 17, 2))
walk = np.cumsum(rng.normal(0, 2, size=(n, t, 17, 2)), axis=1)
seg = (base + walk + rng.normal(0, 30, size=(n, 1, 17, 2))).astype(np.float32)
det = DSNFDetector(epochs=1, random_state=0, n_threads=1).fit(seg[:512])
for nj in (1, 2, 1, 2):
    det.set_params(n_jobs=nj)
    start = time.perf_counter()
    det.decision_function(seg)
    el = time.perf_counter() - start
    print(f"n_jobs={nj}: {n / el:,.0f} segments/s (load {os.getloadavg()[0]:.2f})", flush=True)
