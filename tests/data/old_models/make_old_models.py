"""Write the old-format model fixtures of ``tests/test_nn_ball_params.py``.

Run ONCE with the code of main at commit e6fc042 (before the hyperbolic bias
became a point on the ball), from a checkout of that commit::

    OMP_NUM_THREADS=1 python tests/data/old_models/make_old_models.py tests/data/old_models

It fits two tiny detectors on random pixel segments, saves them with
``DSNFDetector.save`` and stores the segments they are scored on and the
scores (``decision_function``) beside them. Rerunning it with newer code would
not make old-format files, so the outputs are committed as they are.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from pyod_dsnf import DSNFDetector

CONFIGS = {
    "dual_gate": {"space": "dual"},
    "hyperbolic_learned_c": {
        "space": "hyperbolic",
        "learn_curvature": True,
        "curvature": 0.5,
        "permutation": "invconv",
    },
}


def main(out: Path) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 400, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 3, size=(48, 12, 17, 2)), axis=1)
    X = (base + walk + rng.normal(0, 20, size=(48, 1, 17, 2))).astype(np.float32)
    X_test = X[:6] + rng.normal(0, 5, size=X[:6].shape).astype(np.float32)
    np.save(out / "segments.npy", X_test)
    for name, kwargs in CONFIGS.items():
        det = DSNFDetector(
            n_flow_steps=2, hidden_channels=4, epochs=3, lr=0.05, batch_size=16,
            random_state=0, **kwargs,
        )
        det.fit(X)
        det.save(out / f"{name}.dsnf")
        np.save(out / f"{name}_scores.npy", det.decision_function(X_test))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
