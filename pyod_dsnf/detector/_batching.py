"""Batch sizes by device: how many segments a forward pass scores, and what ``fit``
trains on.

**Scoring.** On a CPU the flow's time is in many small elementwise passes over activations of
``H`` channels (docs/method.md, "Costs"); a forward batch whose activations stay in
the core's L2 cache is streamed from cache by every pass, a larger one from memory.
Measured with ``benchmarks/bench_batch.py`` (one thread, T = 24, V = 17): the rate
peaks where one hidden activation of the batch, ``4 * H * T * V * batch`` bytes,
is about 1-2 MiB, so at H = 4 near 256 segments, at H = 8 near 128, at H = 16 near
64, and falls by up to 2x (H = 4) to 4x (H = 8) at 4096.

:func:`batch_size` is the one place that turns this into a number; a device type
other than the CPU gets its own branch here (a GPU wants large batches).

**Training** (``batch_size="auto"``). On the CPU ``"auto"`` is the protocol's batch of 64
at the given ``lr`` (docs/benchmark.md). On a CUDA device it is :data:`CUDA_TRAIN_BATCH` with the
learning rate scaled by the square root of the batch ratio (the square-root rule
for Adam-type optimisers, Malladi et al., NeurIPS 2022). A GPU step costs about
the same at 64 and at 1,024 segments (issue 19), so a larger batch would make a
GPU fit many times faster; but the rule did not keep the protocol's result on
PoseLift (docs/gpu.md, "Batch size": batch 1,024 and 256 lost 1 to 4 frame-AUC
points against batch 64 at 10 epochs), so :data:`CUDA_TRAIN_BATCH` is 64 too until a
rule that keeps it is measured: the constant, the rule and its tests stay here.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = [
    "ACCELERATOR_BATCH",
    "CPU_CACHE_BYTES",
    "CPU_TRAIN_BATCH",
    "CUDA_TRAIN_BATCH",
    "MAX_BATCH",
    "MIN_BATCH",
    "batch_size",
    "scoring_batch_floor",
    "training_batch",
]

#: Bytes of one hidden activation (float32, ``H`` channels) of a CPU forward batch.
CPU_CACHE_BYTES = 1536 * 1024
#: Bounds of the CPU rule (a tiny batch pays the per-op overhead of ~1,000 torch ops).
MIN_BATCH, MAX_BATCH = 32, 1024
#: Forward batch on devices other than the CPU (a GPU is limited by launches, not cache):
#: ``scoring.CUDA_SCORE_BATCH``, docs/gpu.md.
ACCELERATOR_BATCH = 16384


def batch_size(device: torch.device | str, width: int, n_frames: int = 24,
               n_joints: int = 17) -> int:  # fmt: skip
    """Segments per scoring forward pass of a flow of width ``width`` on ``device``.

    On the CPU: the power of two nearest to ``CPU_CACHE_BYTES / (4 * width * n_frames *
    n_joints)``, clipped to [``MIN_BATCH``, ``MAX_BATCH``] (256 for the default H = 4,
    T = 24, V = 17). Elsewhere: ``ACCELERATOR_BATCH``.

    Parameters
    ----------
    device : torch.device or str
    width : int
        Hidden channels H of the coupling networks.
    n_frames, n_joints : int
        T and V of a segment.

    Returns
    -------
    int
    """
    if torch.device(device).type != "cpu":
        return ACCELERATOR_BATCH
    per_segment = 4 * max(1, int(width)) * max(1, int(n_frames)) * max(1, int(n_joints))
    ideal = max(1.0, CPU_CACHE_BYTES / per_segment)
    power = 1 << round(ideal).bit_length() - 1  # floor power of two
    if ideal / power > 1.5:  # nearer to the next one (in ratio: 1.41; 1.5 rounds 1.44 down)
        power *= 2
    return int(min(MAX_BATCH, max(MIN_BATCH, power)))


#: ``batch_size="auto"`` on the CPU: the protocol's batch.
CPU_TRAIN_BATCH = 64
#: ``batch_size="auto"`` on a CUDA device: the CPU's batch until a larger one is shown to keep
#: the protocol's result (docs/gpu.md, "Batch size").
CUDA_TRAIN_BATCH = 64


def training_batch(batch_size: Any, lr: float, device: torch.device) -> tuple[int, float]:
    """The (batch, learning rate) that ``fit`` trains with on ``device``.

    Parameters
    ----------
    batch_size : int or "auto"
        An integer is used as given, with ``lr`` as given.
    lr : float
        The learning rate; for ``"auto"``, the rate at the CPU's batch of 64.
    device : torch.device
        Where the model trains.

    Returns
    -------
    tuple of (int, float)
    """
    if batch_size != "auto":
        return int(batch_size), float(lr)
    if torch.device(device).type != "cuda":
        return CPU_TRAIN_BATCH, float(lr)
    return CUDA_TRAIN_BATCH, float(lr) * math.sqrt(CUDA_TRAIN_BATCH / CPU_TRAIN_BATCH)


def scoring_batch_floor(batch_size: Any) -> int:
    """``batch_size`` as the integer the scoring rules take (``"auto"``: the CPU's 64)."""
    return CPU_TRAIN_BATCH if batch_size == "auto" else int(batch_size)
