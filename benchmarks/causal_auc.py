"""Frame AUCs of one fitted DSNF model under centred and causal frame mappings.

A live system scores frame t with the window that ends at t (``alignment="causal"``,
what :class:`pyod_dsnf.stream.StreamScorer` streams); the published protocols use
windows centred on (or covering) the frame, which look ahead. This script fits one
detector on ``DATA_DIR/pose/train`` and reports, on ``DATA_DIR/pose/test``:

* **field**: raw tracks, windows at stride 1, short runs skipped. Centred = STG-NF's
  mapping (centre frame, max over persons, Gaussian cascade sigma 1..6); causal =
  the window's last frame, no smoothing (the cascade looks ahead).
* **person**: gaps of up to 2 frames filled. Centred = short tracks padded, every
  covered frame gets the mean of its windows; causal = the stream's windows
  (:func:`pyod_dsnf.stream.causal_segments`: no whole-track joint filling, no
  padding), each to its last frame, with and without the stream's warm-up windows
  (its default), which score a track's first T - 1 frames with the missing
  beginning filled by the track's first pose.

AUC-ROC over all frames and over the frames with a tracked person (the person
protocol's filled tracks), as ``pyod-dsnf benchmark`` reports them::

    python benchmarks/causal_auc.py ../shared/data/poselift --seed 0 --threads 1
    python benchmarks/causal_auc.py ../shared/data/poselift --train-stride 24 --epochs 4 \
        --save poselift.dsnf
    python benchmarks/causal_auc.py ../shared/data/poselift --model poselift.dsnf
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.evaluation import auc_roc, frame_scores
from pyod_dsnf.evaluation.frame_scores import map_scores
from pyod_dsnf.poses import fill_gaps, segment_tracks
from pyod_dsnf.stream import causal_segments


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seg-len", type=int, default=24)
    p.add_argument("--train-stride", type=int, default=6)
    p.add_argument("--epochs", type=int, default=None, help="default: the estimator's")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    p.add_argument("--save", default=None, metavar="MODEL", help="also save the fitted model")
    p.add_argument("--model", default=None, help="score with this saved model instead of fitting")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(a.data_dir)
    train, _ = fill_gaps(ds.train, max_gap=2)
    tr = segment_tracks(train, seg_len=a.seg_len, stride=a.train_stride)
    params = {} if a.epochs is None else {"epochs": a.epochs}
    t0 = time.perf_counter()
    if a.model:
        det = DSNFDetector.load(a.model)
        det.n_threads = a.threads
    else:
        det = DSNFDetector(random_state=a.seed, n_threads=a.threads, device="cpu", **params)
        det.fit(tr.X)
    fit_s = time.perf_counter() - t0
    if a.save:
        det.save(a.save)

    test_person, _ = fill_gaps(ds.test, max_gap=2)
    tracked = {c.clip_id: c.tracked_frames(len(ds.masks[c.clip_id])) for c in test_person}
    for cid, m in ds.masks.items():
        tracked.setdefault(cid, np.zeros(len(m), bool))
    field = segment_tracks(ds.test, seg_len=a.seg_len, stride=1)
    person = segment_tracks(test_person, seg_len=a.seg_len, stride=1, pad_short=True)
    causal = causal_segments(ds.test, a.seg_len, max_gap=2, warm_up=False)
    warm = causal_segments(ds.test, a.seg_len, max_gap=2, warm_up=True)
    sets = {"field": field, "person": person, "causal": causal, "warm": warm}
    score = {name: det.decision_function(s.X) for name, s in sets.items()}
    for s in score.values():  # an infinite score ranks first, as score_pose_dir does
        finite = s[np.isfinite(s)]
        s[np.isposinf(s)] = (finite.max() if finite.size else 0) + 1

    rows = {
        "field, centred (STG-NF)": frame_scores(score["field"], field, ds.masks, mode="field"),
        "field, causal": frame_scores(score["field"], field, ds.masks, mode="field",
                                      field_sigmas=(), alignment="causal"),
        "person, centred": frame_scores(score["person"], person, ds.masks, mode="person"),
        "person, causal, no warm-up (stream --no-warm-up)": frame_scores(
            score["causal"], causal, ds.masks, mode="person", alignment="causal"),
        "person, causal with warm-up (stream default)": frame_scores(
            score["warm"], warm, ds.masks, mode="person", alignment="causal"),
    }  # fmt: skip
    res = {
        "seed": a.seed,
        "epochs": det.n_epochs_,
        "train_stride": a.train_stride,
        "n_train_segments": len(tr),
        "fit_s": fit_s,
        "threads": a.threads,
        "n_segments": {name: len(s) for name, s in sets.items()},
        "model": a.model,
        "auc": {},
    }
    print(
        f"{'loaded ' + a.model if a.model else 'fit'}: {len(tr)} windows (T={a.seg_len}, "
        f"stride {a.train_stride}), {det.n_epochs_} epochs, seed {a.seed}, {fit_s:.0f} s on "
        f"{a.threads} thread(s)"
    )
    print("| frame mapping | AUC-ROC (all frames) | AUC-ROC (person frames) |")
    print("|---|---:|---:|")
    for name, fs in rows.items():
        all_f, pers = auc_roc(fs, ds.masks), auc_roc(fs, ds.masks, tracked)
        res["auc"][name] = {"all_frames": all_f, "person_frames": pers}
        print(f"| {name} | {100 * all_f:.2f} | {100 * pers:.2f} |")
    # which tracked frames a window ending at them exists for (no warm-up)
    _, scored = map_scores(np.zeros(len(causal)), causal, ds.masks, alignment="causal")
    n_tr = sum(int(t.sum()) for t in tracked.values())
    n_sc = sum(int((scored[c] & tracked[c]).sum()) for c in ds.masks)
    ab = {c: np.asarray(m, bool) & tracked[c] for c, m in ds.masks.items()}
    n_ab = sum(int(v.sum()) for v in ab.values())
    n_ab_sc = sum(int((v & scored[c]).sum()) for c, v in ab.items())
    median = float(np.median([len(m) for m in ds.masks.values()]))
    res["coverage"] = {
        "tracked": n_tr,
        "tracked_scored_no_warm_up": n_sc,
        "anomalous_tracked": n_ab,
        "anomalous_tracked_scored_no_warm_up": n_ab_sc,
        "median_clip_frames": median,
    }
    print(
        f"without warm-up, {n_tr - n_sc} of {n_tr} tracked frames "
        f"({100 * (n_tr - n_sc) / n_tr:.0f} %) and {n_ab - n_ab_sc} of {n_ab} anomalous tracked "
        f"frames ({100 * (n_ab - n_ab_sc) / n_ab:.0f} %) have no window ending at them; median "
        f"clip length {median:.0f} frames"
    )
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
