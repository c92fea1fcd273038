"""Ways to turn DSNF's per-joint NLL shares into one score, on the training-clip protocol.

Loads the detectors and checkpoint weights that ``select_defaults.py --save DIR`` wrote
(while a fit is still running, only its checkpoints, into a one-epoch fit of the config),
rebuilds the protocol's windows (same seed, length and stride), computes the per-joint
NLL shares of the fit windows, the held-out normal windows and every synthetic anomaly
once per model, and prints the AUC per anomaly kind for each aggregation:

* ``nll``: the segment NLL (the sum of the shares);
* ``joint``: the largest share standardised per joint over the fit windows (the default);
* ``joint+nll``: the larger of ``joint`` and the standardised segment NLL;
* ``top3``: the mean of the three largest standardised shares;
* ``rms``: the root mean square of the positive standardised shares;
* ``robust``, ``robust+nll``: ``joint`` and ``joint+nll`` standardised by the median and
  the scaled median absolute deviation instead of the mean and standard deviation.

Test labels are never read.

Usage::

    python benchmarks/score_variants.py ../shared/data/poselift runs/ --stride 24 \\
        --config dual_h4_lr5e-3_b64_awam_p0.25 --epochs 1,5,10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from select_defaults import CONFIGS, _auc, protocol_data, restandardize

from pyod_dsnf import DSNFDetector


def _standardise(j: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (j - mean) / std


def estimator_holdout(n: int, seed: int, fraction: float = 0.1) -> np.ndarray:
    """Indices of the windows that ``DSNFDetector(random_state=seed)`` holds out for validation.

    Mirrors the estimator's split (``SeedSequence(seed).spawn(1)[0]``, a permutation, the
    first ``round(n * fraction)``); for this analysis only.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    return rng.permutation(n)[: round(n * fraction)]


def aggregations(j_fit: np.ndarray, holdout: np.ndarray | None = None) -> dict:
    """Score functions of a (n, V) share matrix, standardised by the fit windows' shares.

    With ``holdout`` (indices into ``j_fit``) also ``joint@val`` and ``joint@train``: the
    joint score standardised on the validation windows only (never trained on) or on the
    trained-on windows only.
    """
    mean, std = j_fit.mean(axis=0), np.maximum(j_fit.std(axis=0), 1e-12)
    total = j_fit.sum(axis=1)
    t_mean, t_std = total.mean(), max(total.std(), 1e-12)

    def joint(j):
        return _standardise(j, mean, std).max(axis=1)

    def joint_nll(j):
        return np.maximum(joint(j), (j.sum(axis=1) - t_mean) / t_std)

    def top3(j):
        return np.sort(_standardise(j, mean, std), axis=1)[:, -3:].mean(axis=1)

    def rms(j):
        z = np.maximum(_standardise(j, mean, std), 0.0)
        return np.sqrt((z**2).mean(axis=1))

    med = np.median(j_fit, axis=0)
    mad = np.maximum(1.4826 * np.median(np.abs(j_fit - med), axis=0), 1e-12)
    t_med = np.median(total)
    t_mad = max(1.4826 * np.median(np.abs(total - t_med)), 1e-12)

    def robust(j):
        return ((j - med) / mad).max(axis=1)

    def robust_nll(j):
        return np.maximum(robust(j), (j.sum(axis=1) - t_med) / t_mad)

    extra = {}
    if holdout is not None:
        trained = np.setdiff1d(np.arange(len(j_fit)), holdout)
        for label, rows in (("joint@val", holdout), ("joint@train", trained)):
            m = j_fit[rows].mean(axis=0)
            sd = np.maximum(j_fit[rows].std(axis=0), 1e-12)
            extra[label] = lambda j, m=m, sd=sd: _standardise(j, m, sd).max(axis=1)
    return {
        **extra,
        "nll": lambda j: j.sum(axis=1),
        "joint": joint,
        "joint+nll": joint_nll,
        "top3": top3,
        "rms": rms,
        "robust": robust,
        "robust+nll": robust_nll,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("models", type=Path, help="the --save folder of select_defaults.py")
    ap.add_argument("--config", required=True)
    ap.add_argument("--epochs", default="", help="checkpoints to score (default: final only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seg-len", type=int, default=24)
    ap.add_argument("--stride", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x_fit, normal, anomalies, _ = protocol_data(args.data_dir, args.seed, args.seg_len, args.stride)
    kinds = list(anomalies)
    path = args.models / f"{args.config}.dsnf"
    if path.exists():
        det = DSNFDetector.load(path)
    else:  # still training: a one-epoch fit of the same config holds the checkpoints
        det = DSNFDetector(random_state=args.seed, epochs=1, **CONFIGS[args.config])
        det.fit(x_fit[:256])
    final = {k: v.clone() for k, v in det.model_.state_dict().items()} if path.exists() else None
    head = "".join(f"{k[:8]:>9}" for k in kinds)
    print(f"{'model':<10}{'score':<11}{head}    mean     min")
    epochs = [int(e) for e in args.epochs.split(",") if e]
    for epoch in [*epochs, None] if final is not None else epochs:
        state = (
            final
            if epoch is None
            else torch.load(args.models / f"{args.config}_epoch{epoch}.pt", weights_only=True)
        )
        det.model_.load_state_dict(state)
        restandardize(det, x_fit)
        j_fit = det.joint_nll(x_fit)
        j_normal = det.joint_nll(normal)
        j_anom = {k: det.joint_nll(xa) for k, xa in anomalies.items()}
        holdout = estimator_holdout(len(x_fit), args.seed)
        for name, fn in aggregations(j_fit, holdout).items():
            s_normal = fn(j_normal)
            aucs = [_auc(s_normal, fn(j_anom[k])) for k in kinds]
            label = "final" if epoch is None else f"epoch {epoch}"
            print(
                f"{label:<10}{name:<11}"
                + "".join(f"{a:>9.1f}" for a in aucs)
                + f"{np.mean(aucs):>8.1f}{np.min(aucs):>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
