"""From prepared segments to anomaly scores: chunked scoring, per-joint standardisation.

* :func:`score_in_chunks` validates, prepares and scores an input of any length a
  chunk at a time, so memory beyond the input itself stays bounded;
* :func:`joint_nll` runs the flow on prepared segments and refuses NaN;
* :func:`scoring_device` is the device to score on, with a fallback to the CPU
  for a model trained on a GPU that this machine lacks;
* :class:`JointStandardizer` holds each joint's mean and spread of its NLL share
  over the training segments and turns shares into scores (``"joint"`` or
  ``"nll"``, see ``DSNFDetector(anomaly_score=...)``).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from pyod_dsnf.detector import _batching
from pyod_dsnf.detector._compile import compiled_forward
from pyod_dsnf.detector._device import exact_float32, torch_threads
from pyod_dsnf.detector._training import joint_nll_bits_per_dim

__all__ = [
    "ANOMALY_SCORES",
    "CHUNK_MULTIPLE",
    "SCORE_CHUNK",
    "JointStandardizer",
    "forward_batch",
    "joint_nll",
    "score_in_chunks",
    "scoring_device",
    "warn_infinite",
]

#: Segments validated, prepared and scored at a time by ``decision_function``
#: (or ``batch_size`` if larger): scoring memory beyond the input itself stays
#: bounded whatever the number of segments (see docs/guarantees.md).
SCORE_CHUNK = 4096
ANOMALY_SCORES = ("joint", "nll")


def scoring_device(model: nn.Module, fitted_device: str, *, stacklevel: int = 2) -> torch.device:
    """The device to score on: ``fitted_device``, or the CPU (with a warning) if absent here.

    The model is moved there when it is elsewhere.
    """
    dev = torch.device(fitted_device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"this detector was trained on {fitted_device}, which is not available here; "
            f"scoring on the CPU",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        dev = torch.device("cpu")
    if next(model.parameters()).device != dev:
        model.to(dev)
    return dev


def warn_infinite(nll: np.ndarray, what: str, *, stacklevel: int = 2) -> None:
    """Warn when some of the segments' NLL are infinite (they rank as most abnormal)."""
    if np.isinf(nll).any():
        warnings.warn(
            f"{int(np.isinf(nll).sum())} of {what} have an infinite NLL (far outside "
            f"the training data); they rank as most abnormal",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def forward_batch(model: nn.Module, device: torch.device | str) -> int:
    """Segments per scoring forward pass of ``model`` on ``device``.

    :func:`pyod_dsnf.detector._batching.batch_size` of the flow's width and segment shape
    (cache-sized on the CPU: 256 for the default H = 4, T = 24, V = 17).
    """
    return _batching.batch_size(
        device,
        int(getattr(model, "hidden_channels", 16)),
        int(getattr(model, "n_frames", 24)),
        int(getattr(model, "n_joints", 17)),
    )


def _in_threads(tasks: list[Callable[[], Any]], n_jobs: int) -> list[Any]:
    """Run ``tasks`` on ``n_jobs`` threads with one torch intra-op thread each; results in order.

    Torch releases the GIL inside its operators, so the threads run concurrently. The
    first task's error (in task order) is raised, and tasks not yet started are dropped.
    """
    # new threads take torch's process-wide setting as their intra-op thread count
    with torch_threads(1), ThreadPoolExecutor(min(n_jobs, len(tasks))) as pool:
        futures = [pool.submit(task) for task in tasks]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _split(n: int, parts: int) -> list[int]:
    """``parts + 1`` boundaries cutting ``range(n)`` into near-equal consecutive pieces."""
    return [n * i // parts for i in range(parts + 1)]


def joint_nll(
    model: nn.Module,
    data: np.ndarray,
    *,
    device: torch.device,
    what: str,
    offset: int = 0,
    batch_size: int | None = None,
    compile: Any = None,
    n_jobs: int = 1,
) -> np.ndarray:
    """Per-joint NLL shares ``(n, V)`` in bits/dim of prepared segments ``(n, C, T, V)``.

    The flow runs on ``ceil(n / batch_size)`` forward batches of near-equal size
    (``batch_size`` None: :func:`forward_batch`), a partition that depends on ``n``
    only; with ``n_jobs > 1`` threads score consecutive groups of these batches, so
    every batch, and every score, is the same for any ``n_jobs``. ``compile``: a
    ``torch.compile`` backend (name or callable) to run them through
    (:mod:`pyod_dsnf.detector._compile`), None: eager. Raises FloatingPointError naming the
    first segment (``offset`` added) whose share is NaN. On a CUDA device TF32 is
    off (:func:`~pyod_dsnf.detector._device.exact_float32`), so the scores match the CPU's.
    """
    n = len(data)
    limit = forward_batch(model, device) if batch_size is None else int(batch_size)
    n_batches = max(1, -(-n // limit))
    batch = max(1, -(-n // n_batches))
    extra = {}
    if compile is not None:
        extra["forward"] = compiled_forward(model, compile, limit)
    x = torch.from_numpy(data)
    with exact_float32(device):
        if n_jobs <= 1 or n_batches <= 1:
            joint = joint_nll_bits_per_dim(model, x, batch, device, **extra)
        else:
            bounds = [min(n, b * batch) for b in _split(n_batches, min(n_jobs, n_batches))]
            tasks = [partial(joint_nll_bits_per_dim, model, x[lo:hi], batch, device, **extra)
                     for lo, hi in itertools.pairwise(bounds)]  # fmt: skip
            joint = np.concatenate(_in_threads(tasks, n_jobs))
    bad = np.isnan(joint).any(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0]) + offset
        raise FloatingPointError(
            f"the flow returned NaN for {int(bad.sum())} of {what} (first: "
            f"segment {first}); the model is numerically unstable for this input: refit "
            f"with a smaller lr or curvature, or keep normalize=True"
        )
    return joint


#: Chunks of an input longer than one chunk come in multiples of this many (equal in
#: size), so that two or four jobs share them evenly.
CHUNK_MULTIPLE = 4


def score_in_chunks(
    X: Any,
    score: Callable[[Any, int, int], np.ndarray],
    *,
    chunk: int,
    n_joints: int,
    n_jobs: int = 1,
) -> np.ndarray:
    """``score(X[a:b], a, jobs)`` over equal chunks of X, concatenated ``(n, n_joints)``.

    ``score`` validates, prepares and scores one chunk (``a`` is its offset in X,
    for error messages; ``jobs`` the threads it may use). X is cut into a multiple
    of :data:`CHUNK_MULTIPLE` equal chunks of at most ``chunk`` segments, whatever
    ``n_jobs``; an input of at most ``chunk`` segments, or whose length cannot be
    read up front (a list, say), is one chunk scored with ``n_jobs`` threads. With
    ``n_jobs > 1`` and several chunks, ``n_jobs`` chunks are scored at a time by
    threads with one torch intra-op thread each (:func:`_in_threads`); the first
    chunk's error is raised, as in one pass.
    """
    shape = getattr(X, "shape", None)
    n = int(shape[0]) if shape is not None and len(shape) in (2, 4) else 0
    if n <= chunk:
        return score(X, 0, n_jobs)
    n_chunks = -(-n // (chunk * CHUNK_MULTIPLE)) * CHUNK_MULTIPLE
    bounds = _split(n, n_chunks)
    pieces = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    out = np.empty((n, n_joints), dtype=np.float64)
    if n_jobs <= 1:
        for a, b in pieces:
            out[a:b] = score(X[a:b], a, 1)
        return out
    tasks = [partial(score, X[a:b], a, 1) for a, b in pieces]
    for (a, b), part in zip(pieces, _in_threads(tasks, n_jobs), strict=True):
        out[a:b] = part
    return out


@dataclass
class JointStandardizer:
    """Each joint's mean and standard deviation of its NLL share over the training segments.

    Attributes
    ----------
    mean, std : ndarray of shape (V,)
        Bits/dim; ``std`` is floored at 1e-12 so the standardisation stays finite
        should a joint's share never vary.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, joint: np.ndarray) -> JointStandardizer:
        return cls(joint.mean(axis=0), np.maximum(joint.std(axis=0), 1e-12))

    def scores(self, joint: np.ndarray, kind: str) -> np.ndarray:
        """Anomaly scores ``(n,)`` from per-joint shares ``(n, V)``; see ``anomaly_score``.

        "nll": the segment's NLL (the sum of its shares). "joint": the largest
        standardised share; an infinite share (far outside the data) stays the
        most abnormal.
        """
        if kind == "nll":
            return joint.sum(axis=1)
        with np.errstate(invalid="ignore", over="ignore"):
            z = (joint - self.mean) / self.std
        return np.where(np.isinf(joint).any(axis=1), np.inf, np.nanmax(z, axis=1))
