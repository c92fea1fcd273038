"""How many chunks DSNF scores at once: the scikit-learn ``n_jobs`` of the detector.

Torch releases the GIL inside its operators, so independent chunks of segments can be
scored concurrently by threads of one process, each with one intra-op thread. The default
(None) is one job: on the 2-core machines measured, two threads were never faster than
one (equal on a quiet machine, 20% slower beside other jobs: the flow's ~4,300 small
operators per forward hand the GIL back and forth; docs/method.md, "Both cores"), so a
second thread is the user's choice (``n_jobs=2``, or -1 for every usable core), and
nested parallelism (``GridSearchCV(n_jobs=k)``, joblib, Dask) never oversubscribes by
default.
"""

from __future__ import annotations

from pyod_dsnf._checks import is_int
from pyod_dsnf.detector._threads import _usable_cores

__all__ = ["resolve_n_jobs"]


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``n_jobs`` as a positive count, scikit-learn style.

    None: 1 (see the module's docstring); a positive integer: itself; -1: every usable core,
    -2: all but one, ... (at least 1).

    Raises
    ------
    ValueError
        ``n_jobs`` is 0, a bool or not an integer.
    """
    if n_jobs is None:
        return 1
    if not is_int(n_jobs) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be None or a non-zero integer (-1: every core), got {n_jobs!r}"
        )
    if n_jobs < 0:
        return max(1, _usable_cores() + 1 + int(n_jobs))
    return int(n_jobs)
