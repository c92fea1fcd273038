"""Scoring and training throughput of DSNFlow configurations; prints a table.

FLOPs per segment are counted with ``torch.utils.flop_counter.FlopCounterMode``
(matrix products and convolutions only, as executed; elementwise work is not
counted), so the "GFLOP/s" column is the achieved matmul rate, a lower bound on
the work done. The machine's float32 sgemm rate is measured in the same run.

Also measured: what a user gets, ``DSNFDetector.decision_function`` on raw pixel
segments (validation, normalisation, per-joint score included; float32, default
model fitted for one epoch), and the process's peak resident memory after
scoring and after training steps (``ru_maxrss``, a running maximum).
``--vs-reference`` times the frozen pre-rewrite flow (``tests/_reference_nn.py``)
and the current one interleaved on the same data (CPU time), for a relative
speed-up that load on a shared machine affects less than absolute rates.
``--versus REV`` (issue 17) times ``decision_function`` with default settings
(threads, n_jobs, batches: what a user gets) of commit REV's ``pyod_dsnf`` (taken
with ``git archive`` into a temporary folder) and of this checkout, each in fresh
processes, alternating ``--rounds`` times, and prints them side by side with the
load average; e.g. against main before issue 17::

    python benchmarks/bench_speed.py --skip-table --no-detector --versus 1fcca76

Usage::

    python benchmarks/bench_speed.py --threads 2
    python benchmarks/bench_speed.py --threads 1 --profile dual:4:8
    python benchmarks/bench_speed.py --threads 1 --configs dual:4:8 --vs-reference
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector.losses import awam_loss
from pyod_dsnf.flow import DSNFlow
from pyod_dsnf.flow.summary import count_parameters

DEFAULT_CONFIGS = (
    "euclidean:2:8",
    "euclidean:4:8",
    "dual:4:8",
    "dual:8:8",
    "dual:16:8",
    "hyperbolic:4:8",
)


def _parse(config: str) -> dict:
    space, hidden, steps = config.split(":")
    return {"space": space, "hidden_channels": int(hidden), "n_flow_steps": int(steps)}


# torch's FlopCounterMode counts addmm but not its in-place form, which the spatial graph
# convolution uses to accumulate its partitions; count it the same way.
if torch.ops.aten.addmm_ not in flop_counter.flop_registry:

    @flop_counter.register_flop_formula(torch.ops.aten.addmm_)
    def _addmm_inplace_flop(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs):
        return flop_counter.addmm_flop(self_shape, a_shape, b_shape)


def flops_per_segment(model: DSNFlow, t: int, v: int) -> float:
    x = torch.randn(8, 2, t, v)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.nll_bpd(x)
    return counter.get_total_flops() / 8


def matmul_rate(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a large float32 matrix product: the machine's limit to compare with."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def throughput(fn, n_items: int, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return n_items * repeats / (time.perf_counter() - start)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def detector_rate(t: int, n: int, repeats: int = 2) -> float:
    """Segments/s of ``DSNFDetector.decision_function`` on raw pixel segments (defaults)."""
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 500, size=(1, 1, 17, 2))
    walk = np.cumsum(rng.normal(0, 2, size=(n, t, 17, 2)), axis=1)
    segments = (base + walk + rng.normal(0, 30, size=(n, 1, 17, 2))).astype(np.float32)
    detector = DSNFDetector(epochs=1, random_state=0, n_threads=torch.get_num_threads())
    detector.fit(segments[:512])
    return throughput(lambda: detector.decision_function(segments), n, repeats)


def versus_reference(config: str, data: torch.Tensor, batch: int, rounds: int = 3) -> None:
    """Interleaved CPU-time comparison with the frozen pre-rewrite flow."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import _reference_nn as reference

    kwargs = {"n_frames": data.shape[2], **_parse(config)}
    old = reference.DSNFlow(**kwargs).train()
    old(data[:256])  # ActNorm initialisation
    new = DSNFlow(**kwargs)
    new.load_state_dict(old.state_dict())
    rates: dict[str, list[float]] = {"reference": [], "current": []}
    for _ in range(rounds):
        for name, model in (("reference", old.eval()), ("current", new.eval())):
            start = time.process_time()
            with torch.no_grad():
                for i in range(0, len(data), batch):
                    model.joint_log_prob(data[i : i + batch])
            rates[name].append(len(data) / (time.process_time() - start))
    best = {k: max(v) for k, v in rates.items()}
    print(
        f"{config}: reference {best['reference']:,.0f}, current {best['current']:,.0f} "
        f"segments per CPU-second (best of {rounds}, interleaved): "
        f"x{best['current'] / best['reference']:.2f}"
    )


def versus_commit(rev: str, n: int, seg_len: int, rounds: int, repeats: int = 2) -> None:
    """decision_function of commit ``rev`` and of this checkout, alternating fresh processes."""
    root = Path(__file__).resolve().parents[1]
    script = Path(__file__).with_name("_time_detector.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", rev, "pyod_dsnf"],
                                 check=True, capture_output=True).stdout  # fmt: skip
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        sides = {rev: tmp, "this checkout": str(root)}
        best: dict[str, float] = {}
        print(f"decision_function, default settings, {n} raw pixel segments (T={seg_len}), "
              f"best of {repeats} calls per process:")  # fmt: skip
        for r in range(rounds):
            for name, path in sides.items():
                out = subprocess.run([sys.executable, str(script), path, str(n), str(seg_len),
                                      str(repeats)], check=True, capture_output=True, text=True,
                                     env=env, cwd=tmp).stdout  # fmt: skip
                res = json.loads(out.strip().splitlines()[-1])
                if not res["package"].startswith(path):
                    raise RuntimeError(f"{name}: imported {res['package']}, not {path}")
                rate = max(res["rates"])
                best[name] = max(best.get(name, 0.0), rate)
                print(f"  round {r + 1}  {name:<14} {rate:>8,.0f} segments/s "
                      f"(load {res['load']:.2f})", flush=True)  # fmt: skip
    print(f"best: {rev} {best[rev]:,.0f}, this checkout {best['this checkout']:,.0f} "
          f"segments/s: x{best['this checkout'] / best[rev]:.2f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help="space:hidden:steps,...")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--batch", type=int, default=1024, help="scoring batch size")
    ap.add_argument("--n", type=int, default=8192, help="segments scored per repeat")
    ap.add_argument("--seg-len", type=int, default=24)
    ap.add_argument("--awam-lambda", type=float, default=0.1)
    ap.add_argument("--profile", default=None, help="one config to profile (top ops)")
    ap.add_argument(
        "--vs-reference", action="store_true", help="interleaved speed-up vs the frozen old flow"
    )
    ap.add_argument(
        "--no-detector", action="store_true", help="skip the decision_function measurement"
    )
    ap.add_argument("--skip-table", action="store_true", help="skip the per-config table")
    ap.add_argument("--versus", default=None, metavar="REV",
                    help="decision_function of commit REV and of this checkout side by side")
    ap.add_argument("--rounds", type=int, default=3, help="alternations for --versus")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t, v = args.seg_len, 17
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(args.n, 2, t, v, generator=gen)
    batch = torch.randn(256, 2, t, v, generator=gen)
    print(f"torch {torch.__version__}, {args.threads} thread(s), T={t}, V={v}, float32")
    sgemm = matmul_rate()
    print(f"this machine's float32 matmul rate (2048^3 torch.mm): {sgemm:.1f} GFLOP/s")
    print(
        f"{'config':<16}{'params':>8}{'MFLOP/seg':>11}{'score seg/s':>13}{'GFLOP/s':>9}"
        f"{'% sgemm':>9}{'train seg/s':>13}{'train+AWAM':>12}"
    )
    rss_score = rss_train = 0.0
    for config in [] if args.skip_table else args.configs.split(","):
        model = DSNFlow(n_frames=t, **_parse(config))
        model.train()
        model(batch)  # ActNorm initialisation
        flops = flops_per_segment(model.eval(), t, v)

        def score(model=model):
            with torch.no_grad():
                for i in range(0, args.n, args.batch):
                    model.joint_log_prob(data[i : i + args.batch])  # what scoring runs

        def train_step(lam: float, model=model) -> None:
            model.train()
            loss, _ = awam_loss(model, batch, lam=lam)
            loss.backward()
            model.zero_grad()

        model.eval()
        seg_s = throughput(score, args.n, 2)
        rss_score = max(rss_score, peak_rss_mib())
        train_s = throughput(lambda: train_step(0.0), 256, 3)
        awam_s = throughput(lambda: train_step(args.awam_lambda), 256, 3)
        rss_train = max(rss_train, peak_rss_mib())
        rate = flops * seg_s / 1e9
        print(
            f"{config:<16}{count_parameters(model):>8,}{flops / 1e6:>11.2f}{seg_s:>13,.0f}"
            f"{rate:>9.2f}{100 * rate / sgemm:>8.1f}%{train_s:>13,.0f}{awam_s:>12,.0f}",
            flush=True,
        )
    if not args.skip_table:
        print(
            f"peak RSS: {rss_score:,.0f} MiB after scoring, {rss_train:,.0f} MiB after training "
            f"steps (batch 256; running maximum of the process)"
        )
    if not args.no_detector:
        rate = detector_rate(t, args.n)
        print(
            f"DSNFDetector.decision_function (defaults, raw pixel segments, float32): "
            f"{rate:,.0f} segments/s; peak RSS {peak_rss_mib():,.0f} MiB"
        )
    if args.versus:
        versus_commit(args.versus, args.n, t, args.rounds)
    if args.vs_reference:
        for config in args.configs.split(","):
            versus_reference(config, data, args.batch)
    if args.profile:
        model = DSNFlow(n_frames=t, **_parse(args.profile)).eval()
        with torch.no_grad(), torch.profiler.profile() as prof:
            for i in range(0, 2048, args.batch):
                model.nll_bpd(data[i : i + args.batch])
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
