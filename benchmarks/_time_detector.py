"""Segments/s of ``DSNFDetector.decision_function`` with default settings, as JSON.

Run by ``bench_speed.py --versus REV`` once with an old commit's ``pyod_dsnf`` first on
``sys.path`` and once with this checkout's, so the same code times both. The default
model is fitted for one epoch on 512 raw pixel segments (scoring cost depends on the
architecture, not on the training), then the best of ``repeats`` timed calls on ``n``
segments is reported.

Usage: ``python _time_detector.py PACKAGE_ROOT N SEG_LEN REPEATS``
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, sys.argv[1])

import numpy as np
import torch

import pyod_dsnf
from pyod_dsnf import DSNFDetector


def main() -> None:
    n, t, repeats = (int(v) for v in sys.argv[2:5])
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 500, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 2, size=(n, t, 17, 2)), axis=1)
    X = (base + walk + rng.normal(0, 30, size=(n, 1, 17, 2))).astype(np.float32)
    det = DSNFDetector(epochs=1, random_state=0).fit(X[:512])
    det.decision_function(X[:1024])  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        det.decision_function(X)
        rates.append(n / (time.perf_counter() - start))
    print(json.dumps({"package": os.path.dirname(pyod_dsnf.__file__), "rates": rates,
                      "torch_threads": torch.get_num_threads(),
                      "load": os.getloadavg()[0]}))  # fmt: skip


if __name__ == "__main__":
    main()
