"""Scoring on a CUDA device: segments prepared on the GPU, the next chunk prepared meanwhile.

On a GPU the flow scores hundreds of thousands of segments per second; preparing
them on the host (validation, float64 normalisation, copies), one chunk after
another, is then what limits ``decision_function``. Two things remove that:

* :func:`device_prepare` normalises complete segments on the GPU in float32:
  the host only checks them (finite coordinates, every confidence > 0) and copies
  the (x, y) channels into pinned memory, whence they go to the GPU without a
  wait. Segments with a missing joint (imputation) keep the host path
  (:func:`pyod_dsnf.detector._validation.prepare_segments`), which also raises
  its errors for bad input, naming the same segment; ``normalize=False`` keeps
  the host path for the whole chunk.
* :func:`score_prefetched` prepares chunk ``k + 1`` in a second thread while the
  GPU scores chunk ``k``.

The float32 normalisation follows the host's float64 one step for step
(:func:`pyod_dsnf.detector._validation._normalize`): centre on the mean joint, divide by
the RMS spread computed on coordinates pre-divided by their largest deviation,
with the same relative floor. Before centring, each segment's first joint is
subtracted (exact when the coordinates are within a factor of two of it, as
pixel coordinates of one person are), so the float32 rounding is that of
coordinates of the person's size, not of the image's. tests/test_gpu.py holds
the result to the float32 rule of tests/_devices.py against a float64 reference.

``torch.compile`` of the forward pass is the estimator's ``compile`` switch, the same on
the CPU and on CUDA: :func:`pyod_dsnf.detector.scoring.joint_nll` runs the CUDA batches
through ``compiled_forward`` as it does the CPU's.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from pyod_dsnf.detector._validation import SCALE_FLOOR, prepare_segments

__all__ = ["device_prepare", "normalize_on_device", "score_prefetched"]

#: Coordinates beyond this (or NaN / inf) go the host path, which handles them exactly.
_HOST_ABOVE = 1e30


def device_prepare(
    X4: np.ndarray,
    device: torch.device,
    *,
    normalize: bool,
    name: str = "X",
    offset: int = 0,
) -> torch.Tensor | None:
    """Prepared segments ``(n, 2, T, V)`` float32 on ``device``, or None for the host path.

    Complete segments (every confidence > 0, coordinates finite and below 1e30)
    are normalised on ``device``; the others (a missing joint to impute, a value
    to refuse) by :func:`pyod_dsnf.detector._validation.prepare_segments` on the
    host, and both are put back in order on the device.

    Parameters
    ----------
    X4 : ndarray of shape (n, T, V, C)
        Validated segments (:func:`pyod_dsnf.detector._validation.check_segments`).
    device : torch.device
        A CUDA device (any device works; on the CPU it gains nothing).
    normalize : bool
        The detector's ``normalize``; False always takes the host path (None).
    name, offset : str, int
        As for ``prepare_segments``: error messages name segment ``offset + i`` of ``name``.

    Returns
    -------
    Tensor or None
        None when no segment is complete (the host path prepares the whole chunk).

    Raises
    ------
    ValueError
        As ``prepare_segments`` for the same input, naming the same segment.
    """
    if not normalize or X4.shape[0] == 0:
        return None
    xy = X4[..., :2]
    with np.errstate(invalid="ignore"):
        ok = np.abs(xy).max(axis=(1, 2, 3)) < _HOST_ABOVE  # NaN compares False too
    if X4.shape[-1] == 3:
        ok &= (X4[..., 2] > 0).all(axis=(1, 2))
    if not ok.any():
        return None
    device = torch.device(device)
    if ok.all():
        return normalize_on_device(_to_device(xy, device))
    good, rest = np.flatnonzero(ok), np.flatnonzero(~ok)
    try:
        on_host = prepare_segments(X4[rest], normalize=True, name=name)
    except ValueError:  # the same error, naming the segment by its place in X
        prepare_segments(X4, normalize=True, name=name, offset=offset)
        raise
    n, t, v = X4.shape[:3]
    out = torch.empty((n, 2, t, v), dtype=torch.float32, device=device)
    out[torch.from_numpy(good).to(device)] = normalize_on_device(_to_device(xy[good], device))
    out[torch.from_numpy(rest).to(device)] = torch.from_numpy(on_host).to(device)
    return out


def _to_device(xy: np.ndarray, device: torch.device) -> torch.Tensor:
    """``xy`` as float32 on ``device``, through page-locked memory when that is a GPU."""
    host = torch.empty(xy.shape, dtype=torch.float32, pin_memory=device.type == "cuda")
    host.numpy()[...] = xy  # one cast-copy
    return host.to(device, non_blocking=True)


def normalize_on_device(x: torch.Tensor) -> torch.Tensor:
    """Centre and scale complete segments ``(n, T, V, 2)`` in their dtype; ``(n, 2, T, V)``.

    As :func:`pyod_dsnf.detector._validation._normalize` with every joint valid.
    """
    d = x - x[:, :1, :1, :]  # relative to the first joint: small numbers, small rounding
    centred = d - d.mean(dim=(1, 2), keepdim=True)
    dev = centred.abs().amax(dim=(1, 2, 3), keepdim=True)
    unit = torch.where(dev > 0, dev, torch.ones_like(dev))
    rms = unit * (centred / unit).square().mean(dim=(1, 2, 3), keepdim=True).sqrt()
    magnitude = x.abs().amax(dim=(1, 2, 3), keepdim=True)
    floor = (SCALE_FLOOR * magnitude).clamp_min(torch.finfo(x.dtype).tiny)
    return (centred / torch.maximum(rms, floor)).permute(0, 3, 1, 2).contiguous()


def score_prefetched(
    X: Any,
    prepare: Callable[[Any, int], Any],
    run: Callable[[Any, int], np.ndarray],
    *,
    chunk: int,
    n_joints: int,
) -> np.ndarray:
    """``run(prepare(X[start:start + chunk], start), start)`` over X, preparing one chunk ahead.

    ``prepare`` runs in a second thread on chunk ``k + 1`` while ``run`` scores
    chunk ``k``; results and errors come in chunk order, as from
    :func:`pyod_dsnf.detector.scoring.score_in_chunks` (whose rule for inputs of unknown
    length this follows).
    """
    shape = getattr(X, "shape", None)
    n = int(shape[0]) if shape is not None and len(shape) in (2, 4) else 0
    if n <= chunk:
        return run(prepare(X, 0), 0)
    out = np.empty((n, n_joints), dtype=np.float64)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyod-dsnf-prepare") as pool:
        ahead = pool.submit(prepare, X[:chunk], 0)
        for start in range(0, n, chunk):
            data = ahead.result()
            nxt = start + chunk
            if nxt < n:
                ahead = pool.submit(prepare, X[nxt : nxt + chunk], nxt)
            out[start:nxt] = run(data, start)
    return out
