"""Segments/s of the flow's scoring forward against the forward batch, per width H.

One torch thread, no_grad, ``DSNFlow.joint_log_prob`` on standard-normal segments
(T=24, V=17, C=2), the default architecture otherwise (dual, K=8). Prints for each
width and batch the rate and the bytes of one hidden activation of the batch
(``4 * H * T * V * batch``), from which :func:`pyod_dsnf.detector._batching.batch_size` takes
its rule (docs/method.md, "Costs")::

    OMP_NUM_THREADS=1 python benchmarks/bench_batch.py --widths 4,8,16
"""

from __future__ import annotations

import argparse
import time

import torch

from pyod_dsnf.flow import DSNFlow


def rate(model: DSNFlow, data: torch.Tensor, batch: int, min_time: float) -> float:
    """Best of three timed passes over ``data`` in batches of ``batch``."""
    best = 0.0
    with torch.no_grad():
        model.joint_log_prob(data[:batch])  # warm-up
        for _ in range(3):
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < min_time:
                for i in range(0, len(data), batch):
                    model.joint_log_prob(data[i : i + batch])
                n += len(data)
            best = max(best, n / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--widths", default="4,8,16")
    ap.add_argument("--batches", default="16,32,64,128,256,512,1024,4096")
    ap.add_argument("--n", type=int, default=4096, help="segments per pass")
    ap.add_argument("--seg-len", type=int, default=24)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per timed pass")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t, v = args.seg_len, 17
    data = torch.randn(args.n, 2, t, v, generator=torch.Generator().manual_seed(0))
    print(f"torch {torch.__version__}, 1 thread, T={t}, V={v}")
    print(f"{'H':>3}{'batch':>7}{'act KiB':>9}{'seg/s':>9}")
    for h in (int(s) for s in args.widths.split(",")):
        model = DSNFlow(n_frames=t, hidden_channels=h).train()
        model(data[:256])  # ActNorm initialisation
        model.eval()
        for b in (int(s) for s in args.batches.split(",")):
            kib = 4 * h * t * v * b / 1024
            print(f"{h:>3}{b:>7}{kib:>9.0f}{rate(model, data, b, args.min_time):>9,.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
