"""How hard is the synthetic data? IForest on flattened, normalised coordinates.

python examples/iforest_synthetic.py
"""

from __future__ import annotations

import numpy as np
from pyod.models.iforest import IForest

from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.evaluation import evaluate
from pyod_dsnf.poses import fill_gaps, segment_tracks


def flat_normalised(X: np.ndarray) -> np.ndarray:
    """x, y of each segment centred on its mean and divided by the spread of its y."""
    xy = X[..., :2]
    centre = xy.mean(axis=(1, 2), keepdims=True)
    scale = xy[..., 1].std(axis=(1, 2))[:, None, None, None] + 1e-6
    return ((xy - centre) / scale).reshape(len(X), -1)


def main() -> None:
    ds = make_pose_tracks(n_train_clips=16, n_test_clips=10, random_state=0)
    train, _ = fill_gaps(ds.train)
    test, _ = fill_gaps(ds.test)
    tr = segment_tracks(train, seg_len=12, stride=3)
    te = segment_tracks(test, seg_len=12, pad_short=True)
    print(f"{len(tr)} train segments, {len(te)} test segments, "
          f"{ds.n_test_frames} test frames ({ds.n_anomalous_frames} anomalous)")  # fmt: skip
    det = IForest(random_state=0).fit(flat_normalised(tr.X))
    scores = det.decision_function(flat_normalised(te.X))
    for mode in ("person", "field"):
        print(evaluate(scores, te, ds.masks, test, mode=mode).summary(), "\n")


if __name__ == "__main__":
    main()
