"""Training throughput of the AWAM term: exact vs its unbiased estimates.

Times optimiser steps of the default flow (``DSNFDetector``'s default model, built the
way ``fit`` builds it) on random segments, one step = forward, AWAM loss, backward,
Riemannian Adam step, for: plain likelihood (``awam_lambda=0``), the exact AWAM term
(``awam_prob=1``) and the term on a random share ``p`` of the steps, weighted by
``1 / p`` (``awam_prob=p``). The
variants run interleaved, round after round, in one process, so a change of machine
load hits all of them alike; the table gives the median over rounds. Rates are per
second of the process's CPU time (``time.process_time``), which on one thread is the
work done and is far less sensitive to other jobs on the machine than wall time; on an
idle machine with ``--threads 1`` the two agree.

Usage::

    python benchmarks/bench_awam.py --threads 1 --rounds 5 --steps 10 --prob 0.5 0.25
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._batching import scoring_batch_floor
from pyod_dsnf.detector._training import TrainingConfig, train_flow
from pyod_dsnf.flow import DSNFlow


def _model(det: DSNFDetector, seg_len: int, seed: int) -> torch.nn.Module:
    """The flow that ``fit`` builds at the estimator's defaults (coco17)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DSNFlow(
            in_channels=2,
            n_frames=seg_len,
            graph="coco17",
            n_flow_steps=det.n_flow_steps,
            hidden_channels=det.hidden_channels,
            space=det.space,
            curvature=float(det.curvature),
            learn_curvature=bool(det.learn_curvature),
            permutation=det.permutation,
            temporal_kernel=det.temporal_kernel,
        )


def _rate(det, data, lam, prob, steps, batch_size, seed) -> float:
    model = _model(det, data.shape[2], 0)
    n = steps * batch_size
    config = TrainingConfig(epochs=1, batch_size=batch_size, lr=float(det.lr),
                            max_grad_norm=5.0, awam_lambda=lam, awam_tau=float(det.awam_tau),
                            awam_prob=prob, settings="bench")  # fmt: skip
    kwargs = {"rng": np.random.default_rng(seed), "device": torch.device("cpu")}
    train_flow(model, data[:batch_size], None, config, **kwargs)  # warm-up, ActNorm init
    start = time.process_time()
    train_flow(model, data[:n], None, config, **kwargs)
    return n / (time.process_time() - start)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="optimiser steps per measurement")
    ap.add_argument("--prob", type=float, nargs="*", default=[0.5, 0.25])
    ap.add_argument("--seg-len", type=int, default=24)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    det = DSNFDetector()
    batch = scoring_batch_floor(det.batch_size)  # "auto": the CPU's training batch, 64
    lam = float(det.awam_lambda)
    if args.steps < 1 or args.rounds < 1:
        raise ValueError(f"--steps and --rounds must be >= 1, got {args.steps}, {args.rounds}")
    rng = np.random.default_rng(0)
    data = torch.from_numpy(
        rng.normal(size=(args.steps * batch, 2, args.seg_len, 17)).astype(np.float32)
    )
    variants = {"plain NLL (lambda = 0)": (0.0, 1.0), "AWAM exact": (lam, 1.0)}
    for p in args.prob:
        variants[f"AWAM in a share {p:g} of the steps"] = (lam, p)
    rates: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(args.rounds):  # each round draws other coins
        for name, (lam_v, p) in variants.items():
            rates[name].append(_rate(det, data, lam_v, p, args.steps, batch, r))
    exact = statistics.median(rates["AWAM exact"])
    print(f"{args.threads} thread(s), batch {batch}, {args.rounds} rounds x {args.steps} steps")
    print("| variant | training segments/s (median) | min-max | vs exact AWAM |")
    print("|---|---:|---:|---:|")
    for name, r in rates.items():
        med = statistics.median(r)
        print(f"| {name} | {med:,.0f} | {min(r):,.0f}-{max(r):,.0f} | {med / exact:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
