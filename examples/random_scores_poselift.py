"""Uniformly random segment scores on PoseLift under both frame-mapping protocols.

Shows how much of a frame-level AUC the mapping alone hands out (docs/evaluation.md):

    python examples/random_scores_poselift.py ../shared/data/poselift [N_RANDOM]

N_RANDOM (default 100) is the number of random draws averaged.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.evaluation import evaluate
from pyod_dsnf.poses import fill_gaps, segment_tracks


def main(root: str, n_random: int = 100) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PoseLift's NaN confidences (counted)
        ds = load_dataset(root)
    rng = np.random.default_rng(0)

    # field: STG-NF's protocol -- raw tracks, T = 24, stride 1, short runs dropped
    seg = segment_tracks(ds.test, seg_len=24, stride=1)
    res = evaluate(
        rng.uniform(size=len(seg)), seg, ds.masks, ds.test, mode="field", n_random=n_random
    )
    print(f"[field] {len(seg)} segments, {res.n_frames - res.n_scored_frames} of "
          f"{res.n_frames} frames get no segment centre")  # fmt: skip
    print(res.summary(), "\n")

    # person: gaps <= 2 filled (PoseLift has none that short), short runs edge-padded
    test, report = fill_gaps(ds.test, max_gap=2)
    seg = segment_tracks(test, seg_len=24, stride=1, pad_short=True)
    res = evaluate(
        rng.uniform(size=len(seg)), seg, ds.masks, test, mode="person", n_random=n_random
    )
    print(f"[person] {len(seg)} segments; gap report {report.as_dict()}")
    print(res.summary())


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python examples/random_scores_poselift.py DATASET_ROOT [N_RANDOM]")
    main(sys.argv[1], *(int(v) for v in sys.argv[2:]))
