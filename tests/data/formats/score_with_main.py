"""Score every fixture file with main's code at commit e6fc042 (``v*_<name>_main.npy``).

    OMP_NUM_THREADS=1 PYTHONPATH=DIR python score_with_main.py tests/data/formats

with DIR an export of e6fc042. These are the scores the refactored loader must
reproduce exactly; ``v*_written.npy`` are those of the code that wrote a file.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from pyod_dsnf import DSNFDetector

if __name__ == "__main__":
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    X = np.load(out / "segments.npy")
    for path in sorted(out.glob("v*.dsnf")):
        det = DSNFDetector.load(path)
        np.save(out / f"{path.stem}_main.npy", det.decision_function(X))
