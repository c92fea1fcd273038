"""What bounds the flow on a CPU: operators per forward, per-op overhead, bytes per pass.

For the default model (dual, H = 4, K = 8, T = 24, V = 17), one thread, no_grad
``joint_log_prob``: counts the aten operators one forward runs (torch profiler), times a
forward of 1 segment (where the per-operator overhead dominates) and of ``--batch``
segments, and prints the cost per operator call and the bytes of one full-size hidden
pass (``4 * H * T * V * batch``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_ops.py --batch 256
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from pyod_dsnf.flow import DSNFlow


def per_forward(model: DSNFlow, x: torch.Tensor, min_time: float = 1.0) -> float:
    """Seconds per ``joint_log_prob`` of ``x`` (best of three timed loops)."""
    best = float("inf")
    with torch.no_grad():
        model.joint_log_prob(x)
        for _ in range(3):
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < min_time:
                model.joint_log_prob(x)
                n += 1
            best = min(best, (time.perf_counter() - start) / n)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=4)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t, v, h = 24, 17, args.hidden
    model = DSNFlow(n_frames=t, hidden_channels=h).train()
    x = torch.randn(args.batch, 2, t, v, generator=torch.Generator().manual_seed(0))
    model(x)  # ActNorm initialisation
    model.eval()
    with torch.no_grad(), torch.profiler.profile() as prof:
        model.joint_log_prob(x[:1])
    ops = sum(e.count for e in prof.key_averages() if e.key.startswith("aten::"))
    one = per_forward(model, x[:1])
    many = per_forward(model, x)
    mib = 4 * h * t * v * args.batch / 2**20
    print(f"torch {torch.__version__}, 1 thread, dual H={h} K=8 T={t} V={v}, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"aten operator calls per forward (nested included): {ops}")
    print(f"forward of 1 segment: {one * 1e3:.2f} ms = {one / ops * 1e6:.1f} us per operator call")
    print(f"forward of {args.batch}: {many * 1e3:.1f} ms = {many / args.batch * 1e6:.0f} us per "
          f"segment ({args.batch / many:,.0f} segments/s); one hidden pass {mib:.2f} MiB; "
          f"{(many - one) / ops * 1e6:.0f} us per operator call above the overhead")  # fmt: skip


if __name__ == "__main__":
    main()
