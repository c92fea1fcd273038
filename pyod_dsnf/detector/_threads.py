"""How many torch CPU threads DSNF uses when the caller does not say.

Measured with ``benchmarks/bench_threads.py`` (docs/benchmark.md, "Threads"): on a
2-core machine a fit or scoring run with 2 torch threads beside another 2-thread job
slows down by one to two orders of magnitude (every parallel region of the many small
operations waits for a descheduled thread), while 1 thread slows down by about the
factor of the shared core. So the default never claims every core: ``min(2, cores - 1)``
threads (at least 1), and never more than torch is already set to, which joblib's
workers lower to ``cpu_count // n_jobs``. Whoever knows the machine is free asks for
more explicitly (``n_threads=2``, ``pyod-dsnf ... --threads 2``).
"""

from __future__ import annotations

import os

import torch

from pyod_dsnf._checks import check_int

__all__ = ["MAX_DEFAULT_THREADS", "default_threads", "set_requested_threads"]

#: The most threads the default takes (the flow's products are small).
MAX_DEFAULT_THREADS = 2

_requested: int | None = None


def set_requested_threads(n_threads: int | None) -> None:
    """Record a process-wide explicit thread count (the CLI's ``--threads``); None clears it.

    :func:`default_threads` then returns it, so estimators built with
    ``n_threads=None`` use what the user asked for instead of the cautious default.
    """
    global _requested
    _requested = check_int("n_threads", n_threads, 1, none_ok=True)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Torch threads for ``n_threads=None``.

    The count recorded by :func:`set_requested_threads`, else
    ``min(torch's current setting, 2, usable cores - 1)``, at least 1.
    """
    if _requested is not None:
        return _requested
    cores = _usable_cores()
    return max(1, min(torch.get_num_threads(), MAX_DEFAULT_THREADS, cores - 1))
