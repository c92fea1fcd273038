"""How many segments the flow scores per forward pass: a rule in bytes, per device.

On a CPU the flow's time is in many small elementwise passes over activations of
``H`` channels (docs/method.md, "Costs"); a forward batch whose activations stay in
the core's L2 cache is streamed from cache by every pass, a larger one from memory.
Measured with ``benchmarks/bench_batch.py`` (one thread, T = 24, V = 17): the rate
peaks where one hidden activation of the batch, ``4 * H * T * V * batch`` bytes,
is about 1-2 MiB, so at H = 4 near 256 segments, at H = 8 near 128, at H = 16 near
64, and falls by up to 2x (H = 4) to 4x (H = 8) at 4096.

:func:`batch_size` is the one place that turns this into a number; a device type
other than the CPU gets its own branch here (a GPU wants large batches).
"""

from __future__ import annotations

import torch

__all__ = ["ACCELERATOR_BATCH", "CPU_CACHE_BYTES", "MAX_BATCH", "MIN_BATCH", "batch_size"]

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
