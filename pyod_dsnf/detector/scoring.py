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

import itertools
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from pyod_dsnf.detector import _batching, _gpu_scoring
from pyod_dsnf.detector._batching import scoring_batch_floor
from pyod_dsnf.detector._compile import check_compile, compiled_forward
from pyod_dsnf.detector._device import (
    CudaState,
    DeviceUnavailableError,
    exact_float32,
    resolve_device,
    torch_threads,
)
from pyod_dsnf.detector._jobs import resolve_n_jobs
from pyod_dsnf.detector._training import joint_nll_bits_per_dim
from pyod_dsnf.detector._training_data import reference_segments
from pyod_dsnf.detector._validation import prepare_segments
from pyod_dsnf.detector.standardizer import ANOMALY_SCORES, JointStandardizer

__all__ = [
    "ANOMALY_SCORES",
    "CHUNK_MULTIPLE",
    "CUDA_SCORE_BATCH",
    "CUDA_SCORE_CHUNK",
    "SCORE_CHUNK",
    "JointStandardizer",
    "check_options",
    "cuda_score_sizes",
    "forward_batch",
    "joint_nll",
    "options",
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
#: Chunks of an input longer than one chunk come in multiples of this many (equal in
#: size), so that two or four jobs share them evenly.
CHUNK_MULTIPLE = 4
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


def check_options(n_jobs: Any, compile: Any) -> None:
    """ValueError / TypeError naming ``n_jobs`` or ``compile`` when either is not valid."""
    resolve_n_jobs(n_jobs)
    check_compile(compile)


def options(detector: Any, device: torch.device) -> dict[str, Any]:
    """A detector's ``n_jobs`` (CPU only) and ``compile`` backend, as the scoring functions
    take them; detectors pickled before either existed score with the defaults."""
    n_jobs = resolve_n_jobs(getattr(detector, "n_jobs", None)) if device.type == "cpu" else 1
    return {"n_jobs": n_jobs, "compile": check_compile(getattr(detector, "compile", False))}


def training_scores(
    model: nn.Module,
    data: np.ndarray,
    held_out: np.ndarray | None,
    *,
    batch_size: int | str,
    device: torch.device,
    n_jobs: int = 1,
    compile: Any = None,
) -> tuple[np.ndarray, JointStandardizer]:
    """Per-joint NLL shares of the training segments and the standardizer of the fit.

    The standardizer is fitted on the held-out segments, which the flow never trained
    on, when there are enough of them (:func:`~pyod_dsnf.detector._training_data.
    reference_segments`), else on all the training segments ``data``. ``n_jobs`` and
    ``compile`` as in :func:`joint_nll`.
    """
    run = partial(joint_nll, model, batch_size=batch_size, device=device, n_jobs=n_jobs,
                  compile=compile)  # fmt: skip
    joint = run(data, what="the training segments")
    ref = reference_segments(data, held_out)
    if ref is not data:
        joint_ref = run(ref, what="the held-out segments")
        return joint, JointStandardizer.fit(joint_ref)
    return joint, JointStandardizer.fit(joint)


def forward_batch(model: nn.Module, device: torch.device | str) -> int:
    """Segments per scoring forward pass of ``model`` on the CPU (or another device).

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
    data: np.ndarray | torch.Tensor,
    *,
    device: torch.device,
    what: str,
    batch_size: int | str = "auto",
    offset: int = 0,
    cpu_batch: int | None = None,
    compile: Any = None,
    n_jobs: int = 1,
) -> np.ndarray:
    """Per-joint NLL shares ``(n, V)`` in bits/dim of prepared segments ``(n, C, T, V)``.

    On the CPU the flow runs on ``ceil(n / cpu_batch)`` forward batches of near-equal
    size (``cpu_batch`` None: :func:`forward_batch`, whatever the estimator's
    ``batch_size``), a partition that depends on ``n`` only; with ``n_jobs > 1``
    threads score consecutive groups of these batches (:func:`_in_threads`), so every
    batch, and every score, is the same for any ``n_jobs``. On a CUDA device (``data``
    may already be there) it runs on batches of :func:`cuda_score_sizes` of the
    estimator's ``batch_size`` (``"auto"`` counts as 64), one thread. ``compile``: a
    ``torch.compile`` backend (name or callable) to run the batches through
    (:mod:`pyod_dsnf.detector._compile`), None: eager. Raises FloatingPointError naming
    the first segment (``offset`` added) whose share is NaN. On a CUDA device TF32 is
    off (:func:`~pyod_dsnf.detector._device.exact_float32`), so the scores match the CPU's.
    """
    n = len(data)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        limit = cuda_score_sizes(scoring_batch_floor(batch_size))[1]
    else:
        limit = forward_batch(model, device) if cpu_batch is None else int(cpu_batch)
    n_batches = max(1, -(-n // limit))
    batch = limit if cuda else max(1, -(-n // n_batches))
    extra = {}
    if compile is not None:
        extra["forward"] = compiled_forward(model, compile, limit)
    x = data if isinstance(data, torch.Tensor) else torch.from_numpy(data)
    with exact_float32(device):
        if cuda or n_jobs <= 1 or n_batches <= 1:
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
    n_jobs: int = 1,
    compile: Any = None,
) -> np.ndarray:
    """Per-joint NLL shares ``(n, n_joints)`` of segments X, a chunk at a time.

    ``prepare(X[start:stop], start)`` validates and prepares one chunk (``start``
    for error messages). On the CPU chunks of at most ``max(batch_size, SCORE_CHUNK)``
    are prepared and scored, ``n_jobs`` at a time (:func:`score_in_chunks`); on a
    CUDA device chunks of :func:`cuda_score_sizes` are, the next one prepared while
    the GPU scores one. ``batch_size``: the estimator's (``"auto"`` counts as 64).
    ``compile`` as in :func:`joint_nll`.
    """
    floor = scoring_batch_floor(batch_size)
    run = partial(joint_nll, model, batch_size=floor, device=device, what="the segments",
                  compile=compile)  # fmt: skip

    if device.type == "cuda":
        chunk = cuda_score_sizes(floor)[0]
        return _gpu_scoring.score_prefetched(
            X, prepare, lambda data, start: run(data, offset=start), chunk=chunk,
            n_joints=n_joints)  # fmt: skip

    def score(part: Any, start: int, jobs: int) -> np.ndarray:
        return run(prepare(part, start), offset=start, n_jobs=jobs)

    chunk = max(floor, SCORE_CHUNK)
    return score_in_chunks(X, score, chunk=chunk, n_joints=n_joints, n_jobs=n_jobs)
