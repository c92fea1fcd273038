"""Run a ``pyod-dsnf`` command with the body's orientation switched off, for before/after runs.

Every fit then keeps the stored coordinates (``up_direction_`` = (0, -1), no turn), as
before the orientation existed; everything else is the current code::

    python benchmarks/without_orientation.py benchmark ../shared/data/poselift --seeds 0 \\
        --methods dsnf dsnf-nll -o no_orientation

Only for commands that fit in this process (``benchmark`` with ``--n-jobs 1``, ``fit``).
"""

from __future__ import annotations

import sys

import numpy as np

from pyod_dsnf.detector import orientation


def _image_up(data, valid, graph) -> np.ndarray:
    return np.asarray(orientation.IMAGE_UP, dtype=np.float64)


if __name__ == "__main__":
    orientation.estimate_up = _image_up  # canonical_segments looks it up at call time
    from pyod_dsnf.cli import main

    sys.exit(main(sys.argv[1:]))
