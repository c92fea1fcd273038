"""Scoring the clips of a folder in parallel processes: joblib, any backend.

:func:`score_sources` is the pipeline's load + cut + score (:mod:`pyod_dsnf.pipeline`)
run clip by clip in joblib workers: each worker loads the model once
(:func:`load_model`), reads, cuts and scores one clip at a time (memory per worker is
one clip's segments plus the model) with its own torch thread count, and sends back
only the scores and the segment index. Results come back in clip order and do not
depend on ``n_jobs`` or on the backend: the same call runs on a Dask cluster inside
``joblib.parallel_config(backend="dask")`` with a ``dask.distributed.Client``
(docs/scale.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyod_dsnf._checks import is_int
from pyod_dsnf.detector._device import torch_threads
from pyod_dsnf.evaluation import MODES
from pyod_dsnf.pipeline.steps import (
    SegmentScores,
    Windowing,
    _tracked_to_last_frame,
    cut,
    rank_safe,
)
from pyod_dsnf.poses import DEFAULT_FORMAT, Segments, get_format
from pyod_dsnf.poses.sources import find_sources, warn_nan_confidence

__all__ = [
    "check_n_jobs",
    "load_model",
    "release_models",
    "score_sources",
    "worker_threads",
]


@dataclass
class _ClipResult:
    """What a worker sends back for one clip: scores and the segment index, no keypoints."""

    clip_id: str
    raw: np.ndarray
    person: np.ndarray
    start: np.ndarray
    length: np.ndarray
    tracked: np.ndarray
    n_joints: int
    n_nan_confidence: int


_WORKER_MODELS: dict[tuple, Any] = {}


def _model_key(model_path: str | os.PathLike, device: str) -> tuple:
    p = Path(model_path).resolve()
    return (str(p), p.stat().st_mtime_ns, str(device))


def load_model(model_path: str | os.PathLike, device: str = "cpu") -> Any:
    """The detector of ``model_path``, loaded once per process (each worker's cache).

    :func:`release_models` empties the cache of this process.
    """
    key = _model_key(model_path, device)
    det = _WORKER_MODELS.get(key)
    if det is None:
        from pyod_dsnf.detector.estimator import DSNFDetector

        _WORKER_MODELS.clear()
        det = _WORKER_MODELS[key] = DSNFDetector.load(model_path, device=device)
    return det


def release_models() -> None:
    """Forget the models :func:`load_model` holds in this process."""
    _WORKER_MODELS.clear()


def check_n_jobs(n_jobs: object) -> int:
    """``n_jobs`` as an int; ValueError unless a non-zero integer."""
    if not is_int(n_jobs) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (-1: all cores), got {n_jobs!r}")
    return int(n_jobs)


def _score_source(
    model_path: str,
    device: str,
    threads: int | None,
    source: Path,
    fmt: str,
    layout: str,
    windowing: Windowing,
) -> _ClipResult:
    """Worker: load one clip, cut it, score it with the worker's cached model."""
    with torch_threads(threads):
        det = load_model(model_path, device)
        clip = get_format(fmt).read(source, layout=layout, nan_confidence="zero")
        segset = cut([clip], windowing)
        X = segset.segments.X
        raw = det.decision_function(X) if len(X) else np.zeros(0)
    seg = segset.segments
    return _ClipResult(
        clip_id=clip.clip_id,
        raw=np.asarray(raw, dtype=np.float64),
        person=seg.person,
        start=seg.start,
        length=seg.length,
        tracked=_tracked_to_last_frame(segset.clips)[clip.clip_id],
        n_joints=int(X.shape[2]),
        n_nan_confidence=clip.n_nan_confidence,
    )


def _index_segments(parts: Sequence[_ClipResult], seg_len: int) -> Segments:
    """Segments holding only the index of ``parts`` (``X`` is a read-only zero view)."""
    n = int(sum(len(p.raw) for p in parts))
    n_joints = max((p.n_joints for p in parts), default=0)
    width = max((len(p.clip_id) for p in parts), default=1)
    ids = np.array([p.clip_id for p in parts], dtype=f"U{width}")

    def cat(name: str) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        return np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, np.int64)

    return Segments(
        X=np.broadcast_to(np.zeros((), np.float32), (n, seg_len, n_joints, 3)),
        clip=np.repeat(ids, [len(p.raw) for p in parts]),
        person=cat("person"),
        start=cat("start"),
        length=cat("length"),
        seg_len=seg_len,
    )


def worker_threads(n_jobs: int) -> int | None:
    """Torch threads per worker: None (keep) for one job, else ``cpu_count // n_jobs``."""
    if n_jobs == 1:
        return None
    n = os.cpu_count() or 1
    workers = n if n_jobs < 0 else n_jobs
    return max(1, n // max(1, workers))


def score_sources(
    model_path: str | os.PathLike,
    pose_dir: str | os.PathLike,
    windowing: Windowing,
    *,
    fmt: str = DEFAULT_FORMAT,
    layout: str = "coco17",
    device: str = "cpu",
    n_jobs: int = 1,
    threads: int | None = None,
) -> SegmentScores:
    """load + cut + score for every clip of a folder, clip by clip, in parallel processes.

    Parameters
    ----------
    model_path : str or path
        A model saved by :meth:`~pyod_dsnf.DSNFDetector.save`; each worker loads it once.
    pose_dir : str or path
        Folder of clips in pose format ``fmt``.
    windowing : Windowing
        :meth:`~pyod_dsnf.pipeline.Windowing.test` (``seg_len`` must be the model's).
    fmt, layout : str
        Pose format and joint layout of the clips.
    device : str, default="cpu"
        Where each worker scores ("cpu", "cuda", "cuda:1", "auto").
    n_jobs : int, default=1
        joblib workers (processes with the default backend; -1: one per core).
        The clips are scored one per task, the results come back in clip order,
        and a worker holds one clip's segments at a time.
    threads : int, optional
        Torch CPU threads in each worker; default :func:`worker_threads`.

    Returns
    -------
    SegmentScores
        Identical for any ``n_jobs`` (and any joblib backend) at a fixed ``threads``.
    """
    from joblib import Parallel, delayed

    n_jobs = check_n_jobs(n_jobs)
    if windowing.protocol not in MODES:
        raise ValueError(f"windowing must be a test windowing {MODES}, got {windowing.protocol!r}")
    sources = find_sources(pose_dir, fmt=fmt)
    threads = worker_threads(int(n_jobs)) if threads is None else threads
    model_path = str(model_path)
    parts = Parallel(n_jobs=int(n_jobs))(
        delayed(_score_source)(model_path, device, threads, s, fmt, layout, windowing)
        for s in sources
    )
    release_models()  # this process's copy (n_jobs=1); workers keep theirs
    warn_nan_confidence(pose_dir, [p.n_nan_confidence for p in parts])
    raw = np.concatenate([p.raw for p in parts]) if parts else np.zeros(0)
    return SegmentScores(
        scores=rank_safe(raw, "the model"),
        segments=_index_segments(parts, windowing.seg_len),
        protocol=windowing.protocol,
        tracked={p.clip_id: p.tracked for p in parts},
        n_nan_confidence=sum(p.n_nan_confidence for p in parts),
    )
