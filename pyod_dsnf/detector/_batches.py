"""The training batch and learning rate of ``batch_size="auto"``: where the device's rule lives.

On the CPU ``"auto"`` is the protocol's batch of 64 at the given ``lr``
(docs/benchmark.md). On a CUDA device it is :data:`CUDA_TRAIN_BATCH` with the
learning rate scaled by the square root of the batch ratio (the square-root rule
for Adam-type optimisers, Malladi et al., NeurIPS 2022). A GPU step costs about
the same at 64 and at 1,024 segments (issue 19), so a larger batch would make a
GPU fit many times faster; but the rule did not keep the protocol's result on
PoseLift (docs/gpu.md, "Batch size": batch 1,024 and 256 lost 2 to 5 AUC points
against batch 64 at 10 epochs), so :data:`CUDA_TRAIN_BATCH` is 64 too until a
rule that keeps it is measured: the constant, the rule and its tests stay here.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["CPU_TRAIN_BATCH", "CUDA_TRAIN_BATCH", "scoring_batch_floor", "training_batch"]

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
