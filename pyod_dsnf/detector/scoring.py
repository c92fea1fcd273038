"""From prepared segments to anomaly scores: chunked scoring, per-joint standardisation.

* :func:`score_segments` validates, prepares and scores an input of any length a
  chunk at a time (:func:`score_in_chunks`; on a CUDA device with the next chunk
  prepared meanwhile, :mod:`~pyod_dsnf.detector._gpu_scoring`), so memory beyond the
  input itself stays bounded; :func:`prepare_for` prepares one chunk for its device;
* :func:`joint_nll` runs the flow on prepared segments and refuses NaN;
* :func:`scoring_device` is the device to score on, with a fallback to the CPU
  for a model trained on a GPU that this machine lacks;
* :class:`~pyod_dsnf.detector.standardizer.JointStandardizer` (re-exported here) turns
  per-joint shares into z-scores and anomaly scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from pyod_dsnf.detector import _gpu_scoring
from pyod_dsnf.detector._batches import scoring_batch_floor
from pyod_dsnf.detector._device import (
    CudaState,
    DeviceUnavailableError,
    exact_float32,
    resolve_device,
)
from pyod_dsnf.detector._training import joint_nll_bits_per_dim
from pyod_dsnf.detector._training_data import reference_segments
from pyod_dsnf.detector._validation import prepare_segments
from pyod_dsnf.detector.standardizer import ANOMALY_SCORES, JointStandardizer

__all__ = [
    "ANOMALY_SCORES",
    "CUDA_SCORE_BATCH",
    "CUDA_SCORE_CHUNK",
    "SCORE_BATCH",
    "SCORE_CHUNK",
    "JointStandardizer",
    "cuda_score_sizes",
    "joint_nll",
    "prepare_for",
    "score_in_chunks",
    "score_segments",
    "scoring_device",
    "training_scores",
    "warn_infinite",
]

#: Segments validated, prepared and scored at a time by ``decision_function``
#: (or ``batch_size`` if larger): scoring memory beyond the input itself stays
#: bounded whatever the number of segments (see docs/guarantees.md).
SCORE_CHUNK = 4096
#: Smallest forward batch when scoring: on CPU the flow scores several times more
#: segments per second in batches of ~1k than in training-sized batches of 64.
SCORE_BATCH = 1024
#: On a CUDA device: the smallest forward batch and chunk. A GPU runs the flow at
#: full speed only from batches of about 16k segments (a batch of 1,024 keeps it
#: waiting for kernel launches); a chunk of four batches bounds the host memory of
#: the chunk being prepared while the previous one is scored (docs/gpu.md).
CUDA_SCORE_BATCH = 16384
CUDA_SCORE_CHUNK = 65536


def scoring_device(
    model: nn.Module,
    fitted_device: str,
    *,
    stacklevel: int = 2,
    cuda: CudaState | None = None,
) -> torch.device:
    """The device to score on: ``fitted_device``, or the CPU (with a warning) if unusable here.

    ``fitted_device`` is unusable when :func:`~pyod_dsnf.detector._device.resolve_device`
    refuses it: no CUDA, a CUDA index ``>= device_count`` (a detector pickled on
    ``cuda:1`` read on a one-GPU machine), or a process forked after its parent
    initialised CUDA. A CUDA device without an index (``"cuda"``, as stored by
    earlier versions) means the CUDA device the model is already on, so neither
    ``torch.cuda.set_device`` nor a repeated call moves it. The model is moved
    only when it is elsewhere.

    Parameters
    ----------
    model : nn.Module
    fitted_device : str
        The detector's ``device_``.
    stacklevel : int, default=2
        Of the warning.
    cuda : CudaState, optional
        The machine's CUDA; default :func:`~pyod_dsnf.detector._device.cuda_state`.
    """
    try:
        dev = resolve_device(fitted_device, cuda=cuda)
    except DeviceUnavailableError as exc:
        warnings.warn(
            f"this detector was trained on {fitted_device}, which is not available here "
            f"({exc}); scoring on the CPU",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        dev = torch.device("cpu")
    where = next(model.parameters()).device
    if dev.type == where.type and dev.index is None:
        return where
    if where != dev:
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


def cuda_score_sizes(batch_size: int) -> tuple[int, int]:
    """(chunk, forward batch) when scoring on a CUDA device; the CPU's rule is beside it.

    :data:`CUDA_SCORE_CHUNK` and :data:`CUDA_SCORE_BATCH`, or ``batch_size`` where larger.
    """
    return max(int(batch_size), CUDA_SCORE_CHUNK), max(int(batch_size), CUDA_SCORE_BATCH)


def training_scores(
    model: nn.Module,
    data: np.ndarray,
    held_out: np.ndarray | None,
    *,
    batch_size: int | str,
    device: torch.device,
) -> tuple[np.ndarray, JointStandardizer]:
    """Per-joint NLL shares of the training segments and the standardizer of the fit.

    The standardizer is fitted on the held-out segments, which the flow never trained
    on, when there are enough of them (:func:`~pyod_dsnf.detector._training_data.
    reference_segments`), else on all the training segments ``data``.
    """
    joint = joint_nll(model, data, batch_size=batch_size, device=device,
                      what="the training segments")  # fmt: skip
    ref = reference_segments(data, held_out)
    if ref is not data:
        joint_ref = joint_nll(model, ref, batch_size=batch_size, device=device,
                              what="the held-out segments")  # fmt: skip
        return joint, JointStandardizer.fit(joint_ref)
    return joint, JointStandardizer.fit(joint)


def joint_nll(
    model: nn.Module,
    data: np.ndarray | torch.Tensor,
    *,
    batch_size: int | str,
    device: torch.device,
    what: str,
    offset: int = 0,
) -> np.ndarray:
    """Per-joint NLL shares ``(n, V)`` in bits/dim of prepared segments ``(n, C, T, V)``.

    Raises FloatingPointError naming the first segment (``offset`` added) whose
    share is NaN. On a CUDA device TF32 is off (:func:`~pyod_dsnf.detector._device.exact_float32`),
    so the scores match the CPU's. ``batch_size``: the estimator's (``"auto"`` counts as 64).
    """
    batch_size = scoring_batch_floor(batch_size)
    batch = (
        cuda_score_sizes(batch_size)[1]
        if torch.device(device).type == "cuda"
        else max(int(batch_size), SCORE_BATCH)
    )
    tensor = data if isinstance(data, torch.Tensor) else torch.from_numpy(data)
    with exact_float32(device):
        joint = joint_nll_bits_per_dim(model, tensor, batch, device)
    bad = np.isnan(joint).any(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0]) + offset
        raise FloatingPointError(
            f"the flow returned NaN for {int(bad.sum())} of {what} (first: "
            f"segment {first}); the model is numerically unstable for this input: refit "
            f"with a smaller lr or curvature, or keep normalize=True"
        )
    return joint


def score_in_chunks(
    X: Any,
    score: Callable[[Any, int], np.ndarray],
    *,
    chunk: int,
    n_joints: int,
) -> np.ndarray:
    """``score(X[start:start + chunk], start)`` over X, concatenated ``(n, n_joints)``.

    ``score`` validates, prepares and scores one chunk (``start`` is its offset in
    X, for error messages). An input whose length cannot be read up front (a list,
    say) is scored in one piece.
    """
    shape = getattr(X, "shape", None)
    n = int(shape[0]) if shape is not None and len(shape) in (2, 4) else 0
    if n <= chunk:
        return score(X, 0)
    out = np.empty((n, n_joints), dtype=np.float64)
    for start in range(0, n, chunk):
        out[start : start + chunk] = score(X[start : start + chunk], start)
    return out


def prepare_for(
    device: torch.device, X4: np.ndarray, *, normalize: bool, offset: int = 0
) -> np.ndarray | torch.Tensor:
    """Checked segments ``(n, T, V, C)`` prepared for scoring on ``device``.

    On a CUDA device complete segments are normalised there
    (:func:`pyod_dsnf.detector._gpu_scoring.device_prepare`); otherwise, and for the
    segments that need imputation, on the host (:func:`~pyod_dsnf.detector._validation.
    prepare_segments`).
    """
    if device.type == "cuda":
        data = _gpu_scoring.device_prepare(X4, device, normalize=normalize, offset=offset)
        if data is not None:
            return data
    return prepare_segments(X4, normalize=normalize, offset=offset)


def score_segments(
    X: Any,
    prepare: Callable[[Any, int], Any],
    *,
    model: nn.Module,
    batch_size: Any,
    device: torch.device,
    n_joints: int,
) -> np.ndarray:
    """Per-joint NLL shares ``(n, n_joints)`` of segments X, a chunk at a time.

    ``prepare(X[start:stop], start)`` validates and prepares one chunk (``start``
    for error messages). On the CPU chunks of ``max(batch_size, SCORE_CHUNK)`` are
    prepared and scored in turn; on a CUDA device chunks of
    :func:`cuda_score_sizes` are, the next one prepared while the GPU scores one.
    ``batch_size``: the estimator's (``"auto"`` counts as 64).
    """
    floor = scoring_batch_floor(batch_size)
    run = partial(joint_nll, model, batch_size=floor, device=device, what="the segments")

    def score(data: Any, start: int) -> np.ndarray:
        return run(data, offset=start)

    if device.type == "cuda":
        chunk = cuda_score_sizes(floor)[0]
        return _gpu_scoring.score_prefetched(X, prepare, score, chunk=chunk, n_joints=n_joints)
    chunk = max(floor, SCORE_CHUNK)
    return score_in_chunks(X, lambda part, start: score(prepare(part, start), start),
                           chunk=chunk, n_joints=n_joints)  # fmt: skip
