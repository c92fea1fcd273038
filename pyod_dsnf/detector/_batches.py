"""The training batch and learning rate of ``batch_size="auto"``: they follow the device.

On the CPU ``"auto"`` is the protocol's batch of 64 at the given ``lr``
(docs/benchmark.md): the CPU defaults are those the protocol measured. A GPU step
costs about the same at 64 and at 1,024 segments (it waits for kernel launches,
not for arithmetic; issue 19's H200 figures), so on a CUDA device ``"auto"``
trains on batches of :data:`CUDA_TRAIN_BATCH` with the learning rate scaled by
the square root of the batch ratio, ``lr * sqrt(1024 / 64) = 4 * lr``: the
square-root rule for Adam-type optimisers (Malladi et al., "On the SDEs and
Scaling Rules for Adaptive Gradient Algorithms", NeurIPS 2022), under which the
same number of epochs follows approximately the same training trajectory, so
the protocol's result should hold. Whether it does is what
``benchmarks/gpu_check.sh`` measures (the frame AUCs of a CUDA fit at the
defaults, beside the protocol's) and docs/gpu.md reports.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["CPU_TRAIN_BATCH", "CUDA_TRAIN_BATCH", "scoring_batch_floor", "training_batch"]

#: ``batch_size="auto"`` on the CPU: the protocol's batch.
CPU_TRAIN_BATCH = 64
#: ``batch_size="auto"`` on a CUDA device.
CUDA_TRAIN_BATCH = 1024


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
