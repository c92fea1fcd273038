"""Choose DSNFDetector defaults from training clips only (never the test labels).

Protocol (docs/benchmark.md, "How the defaults were chosen"):

1. Split the *training* clips of a dataset (normal behaviour only) by clip,
   80 % fit / 20 % held out, with a fixed seed.
2. Fit every candidate configuration on windows of the fit clips.
3. On the held-out clips measure (a) the mean held-out NLL in bits/dim and
   (b) how well the model separates held-out normal windows from synthetic
   anomalies made from those same windows:

   - ``reversed``: the window played backwards;
   - ``limb_swap``: left arm and left leg exchange coordinates (an impossible
     body);
   - ``fast``: twice the speed (every second frame of a window twice as long);
   - ``frozen``: the window's most confident pose held still for the whole window, with
     keypoint noise of 1 % of the pose's size (loitering);
   - ``flail``: the wrists swing on circles of half the pose's size
     (fighting / flailing arms).

   and, unless ``--no-blatant``, blatant anomalies injected into the real
   windows (:func:`blatant_anomalies`): ``displace``, ``teleport``, ``jitter``,
   ``frozen_limb``, ``displace_far``.

   The selection score is the mean AUC over the kinds (the table also gives
   the smallest); a config must also fit within the time budget.
4. ``--checkpoints 1,2,5,10`` also scores the model after those epochs (the
   per-joint standardisation recomputed from the fit windows, as ``fit`` does),
   so the protocol sees how detection develops with training;
   ``--baselines knn,iforest,...`` scores PyOD detectors on the same windows
   (normalized and flattened as DSNF normalizes them).

Every fitted model is scored both ways of ``anomaly_score`` (one row each): the
segment NLL ("nll") and its most atypical joint ("joint"), from one pass
(``DSNFDetector.joint_nll``).

Usage::

    python benchmarks/select_defaults.py ../shared/data/poselift --stride 24 --epochs 6 \
        --threads 1 --configs dual_h4_lr5e-3_b64,dual_h4_nll_lr5e-3_b64
    python benchmarks/select_defaults.py ../shared/data/poselift --stride 24 --epochs 30 \
        --threads 1 --checkpoints 1,2,3,5,10,15,20,25,30 --save runs/ \
        --configs dual_h4_lr5e-3_b64_awam_p0.25
    python benchmarks/select_defaults.py ../shared/data/poselift --stride 24 --threads 1 \
        --configs "" --baselines iforest,lof,knn,ecod,copod,autoencoder,deepsvdd
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from pyod_dsnf import DSNFDetector
from pyod_dsnf.datasets import load_dataset
from pyod_dsnf.detector._training import on_epoch
from pyod_dsnf.detector.standardizer import JointStandardizer
from pyod_dsnf.experiments.baselines import PYOD_METHODS as _PYOD
from pyod_dsnf.poses import fill_gaps, segment_tracks
from pyod_dsnf.poses.skeletons import COCO17

# Candidate configurations: overrides of the estimator's defaults.
# Every setting that was compared is spelled out, so a rerun does not depend on the
# estimator's current defaults.
# rounds 1-3 ran with the exact AWAM term (every sample of every step); pinned so they rerun
_MODEL = {
    "space": "dual",
    "hidden_channels": 4,
    "n_flow_steps": 8,
    "awam_prob": 1.0,
}
_ROUND1 = {**_MODEL, "awam_lambda": 0.1, "lr": 1e-3, "batch_size": 256}
_ROUND2 = {**_MODEL, "awam_lambda": 0.1, "lr": 5e-3, "batch_size": 64}
CONFIGS: dict[str, dict] = {
    # round 1: the flow barely leaves its initial state in ~110 optimiser steps
    "dual_h4_lr1e-3_b256": _ROUND1,
    "dual_h4_nll_lr1e-3_b256": {**_ROUND1, "awam_lambda": 0.0},
    "euclidean_h4_lr1e-3_b256": {**_ROUND1, "space": "euclidean"},
    # round 2: about 4x the optimiser steps at 5x the learning rate
    "dual_h4_lr5e-3_b64": _ROUND2,
    "dual_h4_nll_lr5e-3_b64": {**_ROUND2, "awam_lambda": 0.0},
    # round 3: training noise (each fitted model is scored by "nll" and "joint")
    "dual_h4_lr5e-3_b64_noise0.03": {**_ROUND2, "noise_std": 0.03},
    # further candidates (not run for the current defaults)
    "euclidean_h4_lr5e-3_b64": {**_ROUND2, "space": "euclidean"},
    "hyperbolic_h4_lr5e-3_b64": {**_ROUND2, "space": "hyperbolic"},
    "dual_h4_c0.1_lr5e-3_b64": {**_ROUND2, "curvature": 0.1},
    "dual_h4_c10_lr5e-3_b64": {**_ROUND2, "curvature": 10.0},
    "dual_h8_lr5e-3_b64": {**_ROUND2, "hidden_channels": 8},
    # issue 10: the AWAM term on every sample of every step (exact) vs an unbiased estimate
    # on a random quarter of the steps (weighted by 4); the estimate on 16 of the 64 samples
    # of each batch that issue 10 also ran left the library (issue 15: never used by fit)
    "dual_h4_lr5e-3_b64_awam_exact": _ROUND2,
    "dual_h4_lr5e-3_b64_awam_p0.25": {**_ROUND2, "awam_prob": 0.25},
    "euclidean_h4_lr5e-3_b64_awam_p0.25": {**_ROUND2, "space": "euclidean", "awam_prob": 0.25},
}


LEFT_ARM, RIGHT_ARM = [5, 7, 9], [6, 8, 10]
LEFT_LEG = [11, 13, 15]


def _size(x: np.ndarray) -> np.ndarray:
    xy = x[..., :2]
    span = xy.max(axis=(1, 2)) - xy.min(axis=(1, 2))
    return np.maximum(span.max(axis=1), 1.0)[:, None, None, None]


def frozen(normal: np.ndarray, frame: np.ndarray, noise: float, rng: np.random.Generator):
    """Hold pose ``frame[i]`` of window i still for the whole window, plus keypoint noise."""
    t = normal.shape[1]
    still = np.repeat(normal[np.arange(len(normal)), frame][:, None], t, axis=1)
    still[..., :2] += rng.normal(size=still[..., :2].shape) * noise * _size(normal)
    return still


def _valid_joints(window: np.ndarray) -> np.ndarray:
    """Joints of a (T, V, 3) window ordered by how many frames hold them confidently."""
    return np.argsort(-(window[..., 2] > 0).sum(axis=0), kind="stable")


def _direction(rng: np.random.Generator, n: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, size=n)
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


def blatant_anomalies(normal: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Blatant anomalies injected into real normal windows (n, T, V, 3), pixels.

    - ``displace``: two confidently tracked joints jump by half the pose's size
      (random direction) for half of the window;
    - ``teleport``: the whole body jumps by the pose's size at a random frame in
      the middle half of the window and stays there;
    - ``jitter``: every keypoint shakes with Gaussian noise of 10 % of the
      pose's size, independently per frame;
    - ``frozen_limb``: one limb (an arm or a leg, three joints) stays where it was
      in the first frame while the rest of the body moves on;
    - ``displace_far``: ``displace`` four times as large (twice the pose's size).

    Joints that an anomaly moves are marked confident (confidence at least 0.5),
    otherwise the detectors' missing-joint rule would erase the change.
    """
    n, t = normal.shape[:2]
    size = _size(normal)[:, 0, 0, 0]
    out = {}
    displace = normal.copy()
    shift = _direction(rng, n) * 0.5 * size[:, None]
    starts = rng.integers(0, t - t // 2 + 1, size=n)
    for i in range(n):
        joints = rng.choice(_valid_joints(normal[i])[:8], size=2, replace=False)
        span = slice(starts[i], starts[i] + t // 2)
        window = displace[i]  # a view
        window[span, joints, :2] += shift[i]
        window[span, joints, 2] = np.maximum(window[span, joints, 2], 0.5)
    out["displace"] = displace
    teleport = normal.copy()
    jump = _direction(rng, n) * size[:, None]
    at = rng.integers(t // 4, 3 * t // 4 + 1, size=n)
    for i in range(n):
        teleport[i, at[i] :, :, :2] += jump[i]
    out["teleport"] = teleport
    jitter = normal.copy()
    jitter[..., :2] += rng.normal(size=jitter[..., :2].shape) * 0.1 * size[:, None, None, None]
    out["jitter"] = jitter
    frozen_limb = normal.copy()
    limbs = (LEFT_ARM, RIGHT_ARM, LEFT_LEG, [12, 14, 16])
    pick = rng.integers(0, len(limbs), size=n)
    for i in range(n):
        joints = limbs[pick[i]]
        window = frozen_limb[i]  # a view
        window[:, joints, :2] = normal[i, 0, joints, :2]
        window[:, joints, 2] = np.maximum(normal[i, 0, joints, 2], 0.5)
    out["frozen_limb"] = frozen_limb
    # the same displacement four times as large (twice the pose's size), same joints and span
    far = normal.copy()
    moved = displace[..., :2] - normal[..., :2]
    far[..., :2] += 4 * moved
    far[..., 2] = displace[..., 2]
    out["displace_far"] = far
    return out


def synthetic_anomalies(
    normal: np.ndarray, long: np.ndarray, rng: np.random.Generator, *, blatant: bool = False
) -> dict[str, np.ndarray]:
    """Synthetic anomalies built from held-out normal windows (n, T, V, 3), pixels.

    With ``blatant`` the kinds of :func:`blatant_anomalies` follow the five
    original ones (drawn after them, so the original five do not change).
    """
    t = normal.shape[1]
    out = {"reversed": normal[:, ::-1].copy()}
    swap = normal.copy()
    swap[:, :, LEFT_ARM + LEFT_LEG] = normal[:, :, LEFT_LEG + LEFT_ARM]
    out["limb_swap"] = swap
    out["fast"] = long[:, ::2][:, :t].copy()
    # the most confident pose of each window (PoseLift has frames with no confident joint)
    out["frozen"] = frozen(normal, normal[..., 2].sum(axis=2).argmax(axis=1), 0.01, rng)
    flail = normal.copy()
    phase = np.linspace(0, 4 * np.pi, t)[None, :, None]
    radius = 0.5 * _size(normal)[..., 0]
    for wrist in (9, 10):
        flail[:, :, wrist, 0] += (radius * np.cos(phase))[..., 0]
        flail[:, :, wrist, 1] += (radius * np.sin(phase))[..., 0]
    out["flail"] = flail
    if blatant:
        out.update(blatant_anomalies(normal, rng))
    return out


def protocol_data(
    data_dir: Path, seed: int, seg_len: int, stride: int, *, blatant: bool = True
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], tuple[int, int]]:
    """The protocol's windows: (fit windows, held-out normal windows, anomalies, clip counts).

    The training clips are split by clip, 80 % fit / 20 % held out, with ``seed``;
    the anomalies are made from the held-out windows (same ``seed``).
    """
    rng = np.random.default_rng(seed)
    ds = load_dataset(data_dir)
    clips, _ = fill_gaps(ds.train, max_gap=2)
    order = rng.permutation(len(clips))
    n_held = max(1, len(clips) // 5)
    held = [clips[i] for i in order[:n_held]]
    fit_clips = [clips[i] for i in order[n_held:]]
    x_fit = segment_tracks(fit_clips, seg_len=seg_len, stride=stride).X
    x_held = segment_tracks(held, seg_len=2 * seg_len, stride=stride).X  # long windows
    normal = x_held[:, :seg_len]
    anomalies = synthetic_anomalies(normal, x_held, rng, blatant=blatant)
    return x_fit, normal, anomalies, (len(fit_clips), len(held))


def _diagnose(det, normal, j_normal, rng) -> dict[str, dict[str, float]]:
    """Still-pose variants (AUC per anomaly score) and the time-reversal correlation."""
    posed = normal[..., 2].sum(axis=2) > 0  # frames with at least one confident joint
    pick = np.array([rng.choice(np.flatnonzero(row)) for row in posed])
    best = normal[..., 2].sum(axis=2).argmax(axis=1)
    variants = {
        "frozen_random_frame": det.joint_nll(frozen(normal, pick, 0.01, rng)),
        "frozen_no_noise": det.joint_nll(frozen(normal, best, 0.0, rng)),
    }
    nll_reversed = -det.score_samples(normal[:, ::-1])
    corr = float(np.corrcoef(j_normal.sum(axis=1), nll_reversed)[0, 1])
    out = {}
    for score in ("nll", "joint"):
        s_normal = det.anomaly_scores_from_joint(j_normal, score)
        out[score] = {"corr_nll_reversed": corr}
        for kind, joint in variants.items():
            s = det.anomaly_scores_from_joint(joint, score)
            y = np.r_[np.zeros(len(s_normal)), np.ones(len(s))]
            out[score][kind] = 100 * roc_auc_score(y, np.r_[s_normal, s])
    return out


def _auc(s_normal: np.ndarray, s_anom: np.ndarray) -> float:
    y = np.r_[np.zeros(len(s_normal)), np.ones(len(s_anom))]
    return 100 * roc_auc_score(y, np.r_[s_normal, s_anom])


def fit_with_checkpoints(
    det: DSNFDetector,
    x_fit: np.ndarray,
    keep: set[int],
    save: Path | None = None,
) -> dict[int, dict[str, torch.Tensor]]:
    """Fit ``det`` on ``x_fit``; return the flow's weights after each epoch in ``keep``.

    With ``save`` (a path prefix) each of them is also written as it comes, to
    ``<save>_epoch<k>.pt``.
    """
    states: dict[int, dict[str, torch.Tensor]] = {}

    def snapshot(epoch: int, model: torch.nn.Module) -> None:
        if epoch in keep:
            states[epoch] = copy.deepcopy(model.state_dict())
            if save is not None:
                torch.save(states[epoch], f"{save}_epoch{epoch}.pt")

    with on_epoch(snapshot):  # the training loop's seam for per-epoch callbacks
        det.fit(x_fit)
    return states


def held_out_segments(det: DSNFDetector, x_fit: np.ndarray) -> np.ndarray | None:
    """The segments ``fit`` standardised the joint score on, prepared and turned upright.

    Rebuilt from ``random_state`` as ``fit`` draws its hold-out; None when ``fit`` used
    all of ``x_fit`` (a hold-out smaller than ``MIN_REFERENCE``).
    """
    from pyod_dsnf.detector._device import seeds_from
    from pyod_dsnf.detector._training_data import reference_segments, training_sets
    from pyod_dsnf.detector._validation import check_segments, prepare_segments
    from pyod_dsnf.detector.orientation import detector_rotation, rotate_segments

    _, rng = seeds_from(det.random_state)
    X4 = check_segments(x_fit, det.graph_, flat_channels=det.flat_channels)
    data = prepare_segments(X4, normalize=det.normalize)
    data = rotate_segments(data, detector_rotation(det))
    _, val = training_sets(data, det.graph_, validation_fraction=det.validation_fraction,
                           augment=False, normalized=det.normalize, rng=rng)  # fmt: skip
    return val if reference_segments(data, val) is val else None


def held_out_joint_nll(det: DSNFDetector, val: np.ndarray) -> np.ndarray:
    """Per-joint NLL shares of prepared segments, as the estimator computes them."""
    return det._joint_nll(val, "the held-out segments", torch.device(det.device_))


def restandardize(det: DSNFDetector, x_fit: np.ndarray) -> None:
    """Recompute the per-joint standardisation of the joint score, as ``fit`` does.

    On the fit's hold-out (:func:`held_out_segments`) when it has at least
    ``MIN_REFERENCE`` windows, else on ``x_fit`` (needed after loading another epoch's
    weights).
    """
    val = held_out_segments(det, x_fit)
    joint = det.joint_nll(x_fit) if val is None else held_out_joint_nll(det, val)
    standardizer = JointStandardizer.fit(joint)
    det.joint_nll_mean_, det.joint_nll_std_ = standardizer.mean, standardizer.std


def _print_row(label: str, fit_s: float, nll: float, aucs: dict[str, float], kinds) -> None:
    mean_auc = float(np.mean([aucs[k] for k in kinds]))
    print(
        f"{label:<44}{fit_s:>6.0f}{nll:>8.3f}"
        + "".join(f"{aucs[k]:>9.1f}" for k in kinds)
        + f"{mean_auc:>8.1f}{min(aucs[k] for k in kinds):>8.1f}",
        flush=True,
    )


def run_baselines(
    names: list[str], x_fit: np.ndarray, normal: np.ndarray, anomalies, seed: int, kinds
) -> list[dict]:
    """PyOD detectors on the same windows (normalized and flattened as DSNF normalizes them)."""
    from pyod_dsnf.experiments.baselines import (
        flat_segments,
        isolated_rng,
        make_pyod_detector,
    )

    f_fit, f_normal = flat_segments(x_fit), flat_segments(normal)
    f_anom = {kind: flat_segments(xa) for kind, xa in anomalies.items()}
    rows = []
    for name in names:
        det = make_pyod_detector(
            name, n_features=f_fit.shape[1], n_samples=len(f_fit), random_state=seed
        )
        start = time.perf_counter()
        with isolated_rng():  # PyOD's torch detectors seed the global generators
            det.fit(f_fit)
        fit_s = time.perf_counter() - start
        with isolated_rng():
            s_normal = det.decision_function(f_normal)
            aucs = {k: _auc(s_normal, det.decision_function(f_anom[k])) for k in kinds}
        rows.append({"config": name, "anomaly_score": "pyod", "epoch": None,
                     "fit_seconds": fit_s, "auc": aucs,
                     "mean_auc": float(np.mean(list(aucs.values())))})  # fmt: skip
        _print_row(name, fit_s, float("nan"), aucs, kinds)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seg-len", type=int, default=24)
    ap.add_argument("--stride", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument(
        "--max-steps",
        default="default",
        help="the estimator's max_steps: an integer, 'none', or 'default' (its default)",
    )
    ap.add_argument(
        "--checkpoints",
        default="",
        help="comma-separated epochs after which the model is also scored (e.g. 1,2,5,10); "
        "the final row is the fitted model (best validation epoch restored)",
    )
    ap.add_argument(
        "--baselines",
        default="",
        help=f"comma-separated PyOD detectors scored on the same windows ({','.join(_PYOD)})",
    )
    ap.add_argument(
        "--no-blatant", action="store_true", help="only the five original anomaly kinds"
    )
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--json", type=Path, default=None, help="write the rows here")
    ap.add_argument(
        "--save",
        type=Path,
        default=None,
        help="folder for each config's fitted detector (<config>.dsnf) and checkpoint weights "
        "(<config>_epoch<k>.pt), for analysis without refitting",
    )
    ap.add_argument(
        "--diagnose",
        action="store_true",
        help="also: still poses from a random frame / without noise, and how the NLL of a "
        "window correlates with that of its time reversal",
    )
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    x_fit, normal, anomalies, n_clips = protocol_data(
        args.data_dir, args.seed, args.seg_len, args.stride, blatant=not args.no_blatant
    )
    print(
        f"fit windows {len(x_fit)} from {n_clips[0]} clips; "
        f"held-out windows {len(normal)} from {n_clips[1]} clips",
        flush=True,
    )
    kinds = list(anomalies)
    header = f"{'config [score] @epoch':<44}{'fit s':>6}{'NLL':>8}" + "".join(
        f"{k[:8]:>9}" for k in kinds
    )
    print(header + f"{'mean':>8}{'min':>8}", flush=True)
    rows = []
    if args.baselines:
        names = args.baselines.split(",")
        rows += run_baselines(names, x_fit, normal, anomalies, args.seed, kinds)
    keep = {int(e) for e in args.checkpoints.split(",") if e}
    rng_diag = np.random.default_rng(args.seed + 1)
    for name in filter(None, args.configs.split(",")):
        params = dict(CONFIGS[name])
        if args.max_steps != "default":
            params["max_steps"] = None if args.max_steps == "none" else int(args.max_steps)
        det = DSNFDetector(random_state=args.seed, epochs=args.epochs, **params)
        start = time.perf_counter()
        prefix = None
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            prefix = args.save / name
        states = fit_with_checkpoints(det, x_fit, keep, prefix)
        fit_s = time.perf_counter() - start
        final = copy.deepcopy(det.model_.state_dict())
        if args.save:
            det.save(args.save / f"{name}.dsnf")
        final_stats = (det.joint_nll_mean_, det.joint_nll_std_)
        for epoch in [*sorted(states), None]:
            if epoch is None:
                det.model_.load_state_dict(final)
                det.joint_nll_mean_, det.joint_nll_std_ = final_stats
            else:
                det.model_.load_state_dict(states[epoch])
                restandardize(det, x_fit)
            j_normal = det.joint_nll(normal)
            j_anom = {kind: det.joint_nll(xa) for kind, xa in anomalies.items()}
            diagnosis = None
            if args.diagnose and epoch is None:
                diagnosis = _diagnose(det, normal, j_normal, rng_diag)
            for score in ("nll", "joint"):
                s_normal = det.anomaly_scores_from_joint(j_normal, score)
                aucs = {
                    kind: _auc(s_normal, det.anomaly_scores_from_joint(ja, score))
                    for kind, ja in j_anom.items()
                }
                row = {
                    "config": name,
                    "anomaly_score": score,
                    "epoch": epoch if epoch is not None else f"final ({det.n_epochs_} run)",
                    "params": CONFIGS[name],
                    "fit_seconds": fit_s,
                    "epochs": det.n_epochs_,
                    "history": det.history_,
                    "held_out_nll": float(np.mean(j_normal.sum(axis=1))),
                    "auc": aucs,
                    "mean_auc": float(np.mean(list(aucs.values()))),
                }
                if diagnosis is not None:
                    row["diagnosis"] = diagnosis[score]
                rows.append(row)
                at = "final" if epoch is None else str(epoch)
                _print_row(f"{name} [{score}] @{at}", fit_s, row["held_out_nll"], aucs, kinds)
    if args.diagnose:
        print("\ndiagnosis (AUC of held-out windows vs the variant; corr = Pearson r of the NLL)")
        for row in rows:
            if "diagnosis" not in row:
                continue
            cells = [
                f"{k} {v:.3f}" if k.startswith("corr") else f"{k} {v:.1f}"
                for k, v in row["diagnosis"].items()
            ]
            print(f"{row['config'] + ' [' + row['anomaly_score'] + ']':<36}  " + "  ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    assert COCO17.n_joints == x_fit.shape[2], "this protocol's limb indices assume coco17"


if __name__ == "__main__":
    sys.exit(main())
