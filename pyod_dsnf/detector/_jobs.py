"""How many chunks DSNF scores at once: the scikit-learn ``n_jobs`` of the detector.

Torch releases the GIL inside its operators, so independent chunks of segments are
scored concurrently by threads of one process, each with one intra-op thread: unlike
intra-op threads (docs/benchmark.md, "Threads"), they never wait for each other
inside an operator, so a descheduled one on a shared machine does not stall the
rest. The default uses the machine without oversubscribing it:

* one job per usable core (CPU affinity), at most ``OMP_NUM_THREADS`` when that is
  set (joblib's process workers, e.g. ``GridSearchCV(n_jobs=k)``, set it to
  ``cpu_count // k``);
* one job when called from a thread other than the main one (joblib's threading
  backend, Dask workers) or in a ``multiprocessing`` child process, where the
  caller already runs work in parallel.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

from pyod_dsnf._checks import is_int
from pyod_dsnf.detector._threads import _usable_cores

__all__ = ["default_n_jobs", "resolve_n_jobs"]


def _omp_limit() -> int | None:
    try:
        value = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    return value if value >= 1 else None


def default_n_jobs() -> int:
    """Jobs for ``n_jobs=None``; see the module's docstring."""
    if threading.current_thread() is not threading.main_thread():
        return 1
    if multiprocessing.parent_process() is not None:
        return 1
    cores = _usable_cores()
    limit = _omp_limit()
    return max(1, min(cores, limit) if limit is not None else cores)


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``n_jobs`` as a positive count, scikit-learn style.

    None: :func:`default_n_jobs`; a positive integer: itself; -1: every usable core,
    -2: all but one, ... (at least 1).

    Raises
    ------
    ValueError
        ``n_jobs`` is 0, a bool or not an integer.
    """
    if n_jobs is None:
        return default_n_jobs()
    if not is_int(n_jobs) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be None or a non-zero integer (-1: every core), got {n_jobs!r}"
        )
    if n_jobs < 0:
        return max(1, _usable_cores() + 1 + int(n_jobs))
    return int(n_jobs)
