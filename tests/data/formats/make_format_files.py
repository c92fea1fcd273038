"""Write the saved-model fixtures of ``tests/test_persistence_formats.py``.

Each format version is written by the code that wrote it, run from an export of
that commit (``git archive <commit> | tar -x -C DIR``) with DIR first on the path::

    OMP_NUM_THREADS=1 PYTHONPATH=DIR python make_format_files.py OUT VERSION

    format 1: commit acee277^ (before the checksum)
    format 2: commit f52c696^ (before the per-joint score)
    format 3: commit e6fc042 (main before the thin-estimator refactor)
    format 4: commit 1fcca76 (main before the body's orientation); its
    ``v4_<name>_main.npy`` are copies of ``v4_<name>_written.npy`` (main wrote them)

It fits two tiny detectors on random pixel segments, saves them as
``v<VERSION>_<name>.dsnf`` and stores ``decision_function`` of the shared
test segments as ``v<VERSION>_<name>_written.npy`` (the scores of the code
that wrote the file). Rerunning it with newer code would not make old-format
files, so the outputs are committed as they are.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from pyod_dsnf import DSNFDetector

CONFIGS = {
    "dual": {"space": "dual", "permutation": "invconv"},
    "hyperbolic": {"space": "hyperbolic", "learn_curvature": True, "curvature": 0.5},
}


def segments() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 400, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 3, size=(40, 8, 17, 2)), axis=1)
    X = (base + walk + rng.normal(0, 20, size=(40, 1, 17, 2))).astype(np.float32)
    X_test = X[:5] + rng.normal(0, 5, size=X[:5].shape).astype(np.float32)
    return X, X_test


def main(out: Path, version: str) -> None:
    torch.set_num_threads(1)
    X, X_test = segments()
    np.save(out / "segments.npy", X_test)
    for name, kwargs in CONFIGS.items():
        det = DSNFDetector(n_flow_steps=2, hidden_channels=4, epochs=2, lr=0.02,
                           batch_size=16, random_state=0, **kwargs)  # fmt: skip
        det.fit(X)
        det.save(out / f"v{version}_{name}.dsnf")
        np.save(out / f"v{version}_{name}_written.npy", det.decision_function(X_test))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
