"""Fit and score methods (DSNF variants, PyOD detectors, the random control) and evaluate them.

The demo and the benchmark share this: :func:`evaluate_methods` is their one loop over
methods. DSNF gets the 4-D segments (it normalizes them itself), every other method the
same segments through :func:`pyod_dsnf.experiments.baselines.flat_segments`, so all methods see
identical inputs, and their segment scores go through the pipeline's frame mapping and
metrics (:mod:`pyod_dsnf.pipeline`).
"""

from __future__ import annotations

import platform
import resource
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyod_dsnf.detector.estimator import DSNFDetector
from pyod_dsnf.experiments.baselines import (
    PYOD_METHODS,
    flat_segments,
    isolated_rng,
    make_pyod_detector,
)
from pyod_dsnf.pipeline import (
    FrameMetrics,
    FrameScores,
    SegmentSet,
    metrics,
    rank_safe,
    segment_scores,
    to_frames,
)

__all__ = [
    "DSNF_VARIANTS",
    "MethodResult",
    "MethodRun",
    "all_methods",
    "evaluate_methods",
    "peak_rss_mib",
    "reset_peak_rss",
    "run_method",
]

#: DSNF and its ablations: parameters set on top of the caller's DSNF parameters.
DSNF_VARIANTS: dict[str, dict[str, Any]] = {
    "dsnf": {},
    "dsnf-nll": {"anomaly_score": "nll"},
    "dsnf-euclidean": {"space": "euclidean", "hidden_channels": 2},
    "dsnf-hyperbolic": {"space": "hyperbolic"},
    "dsnf-noawam": {"awam_lambda": 0.0},
}


def all_methods() -> tuple[str, ...]:
    """Every method name :func:`run_method` accepts, in table order."""
    return (*DSNF_VARIANTS, *PYOD_METHODS, "random")


@dataclass
class MethodRun:
    """One fitted method's segment scores and costs.

    Attributes
    ----------
    method : str
        Method name.
    fit_seconds : float
        Wall time of ``fit`` (including input normalization for PyOD methods).
    score_seconds : float
        Wall time of scoring all test segment sets.
    n_scored : int
        Number of test segments scored.
    scores : list of ndarray
        Anomaly scores, one array per test segment set, in the order given.
    params : dict
        The DSNF parameters used (empty for other methods).
    """

    method: str
    fit_seconds: float
    score_seconds: float
    n_scored: int
    scores: list[np.ndarray] = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Scored segments per second."""
        return self.n_scored / self.score_seconds if self.score_seconds > 0 else float("inf")


def run_method(
    method: str,
    X_train: np.ndarray,
    X_tests: Sequence[np.ndarray],
    *,
    random_state: int = 0,
    dsnf_params: Mapping[str, Any] | None = None,
    flat: tuple[np.ndarray, Sequence[np.ndarray]] | None = None,
    fitted: dict[str, tuple[DSNFDetector, float]] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> MethodRun:
    """Fit ``method`` on ``X_train`` and score every array of ``X_tests``.

    Parameters
    ----------
    method : str
        One of :func:`all_methods`.
    X_train : ndarray of shape (n_segments, T, V, C)
        Training segments (normal activity).
    X_tests : sequence of ndarray of shape (n, T, V, C)
        Test segment sets to score.
    random_state : int, default=0
        Seed of the method.
    dsnf_params : mapping, optional
        :class:`~pyod_dsnf.DSNFDetector` parameters for the DSNF variants (the
        variant's own settings in :data:`DSNF_VARIANTS` take precedence).
    flat : (ndarray, sequence of ndarray), optional
        ``flat_segments`` of ``X_train`` and of each of ``X_tests``, computed once by
        the caller; the non-DSNF methods then use them and their times exclude the
        normalization. Without it they normalize inside the timed fit and scoring.
    fitted : dict, optional
        A cache of fitted DSNF detectors shared between calls. Variants that differ
        only in ``anomaly_score`` (``dsnf`` and ``dsnf-nll``) train the same flow, so
        the second reuses the first's fit (and reports its fit time) and only scores.
    clock : callable, default=time.perf_counter
        Seconds on a monotonic clock. Read exactly twice around the fit (none when
        the fit comes from ``fitted``) and twice around the scoring, so that a test
        can pass a scripted clock.

    Returns
    -------
    MethodRun
    """
    if method not in all_methods():
        raise ValueError(f"method must be one of {all_methods()}, got {method!r}")
    if method in DSNF_VARIANTS:
        params = {**dict(dsnf_params or {}), **DSNF_VARIANTS[method], "random_state": random_state}
        kind = params.pop("anomaly_score", "joint")
        key = repr(sorted(params.items()))
        if fitted is not None and key in fitted:
            det, fit_s = fitted[key]
        else:
            det = DSNFDetector(**params, anomaly_score=kind)
            t0 = clock()
            det.fit(X_train)
            fit_s = clock() - t0
            if fitted is not None:
                fitted[key] = (det, fit_s)
        params["anomaly_score"] = kind
        t0 = clock()
        scores = [det.anomaly_scores_from_joint(det.joint_nll(X), kind) for X in X_tests]
        score_s = clock() - t0
    else:
        params = {}
        with isolated_rng():
            t0 = clock()
            F = flat_segments(X_train) if flat is None else flat[0]
            det = make_pyod_detector(
                method, n_features=F.shape[1], n_samples=len(F), random_state=random_state
            )
            det.fit(F)
            fit_s = clock() - t0
            t0 = clock()
            F_tests = [flat_segments(X) for X in X_tests] if flat is None else list(flat[1])
            scores = [np.asarray(det.decision_function(G), float) for G in F_tests]
        score_s = clock() - t0
    scores = [rank_safe(s, method) for s in scores]
    return MethodRun(
        method=method,
        fit_seconds=fit_s,
        score_seconds=score_s,
        n_scored=int(sum(len(X) for X in X_tests)),
        scores=scores,
        params=params,
    )


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB.

    ``VmHWM`` from ``/proc/self/status`` (Linux; since the last reset by
    ``/proc/self/clear_refs``), else ``resource.getrusage(RUSAGE_SELF).ru_maxrss``
    (peak since the process started).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024**2 if platform.system() == "Darwin" else rss / 1024


@dataclass
class MethodResult:
    """One method evaluated on every test segment set by :func:`evaluate_methods`.

    Attributes
    ----------
    run : MethodRun
        Segment scores and costs.
    frames : list of FrameScores
        Per test set, the per-frame scores under that set's mapping.
    metrics : list of FrameMetrics
        Per test set, the frame metrics.
    peak_rss_mib : float
        Peak RSS of the process while the method was fitted and scored.
    """

    run: MethodRun
    frames: list[FrameScores] = field(repr=False)
    metrics: list[FrameMetrics]
    peak_rss_mib: float


def evaluate_methods(
    methods: Sequence[str],
    X_train: np.ndarray,
    tests: Sequence[SegmentSet],
    masks: Mapping[str, np.ndarray],
    *,
    random_state: int = 0,
    dsnf_params: Mapping[str, Any] | None = None,
    flat: tuple[np.ndarray, Sequence[np.ndarray]] | None = None,
    bar: Any = None,
) -> list[MethodResult]:
    """Fit, score, map to frames and evaluate every method: the one loop over methods.

    Parameters
    ----------
    methods : sequence of str
        Names of :func:`all_methods`.
    X_train : ndarray of shape (n, T, V, 3)
        Training segments.
    tests : sequence of SegmentSet
        Test segments cut for a frame mapping (:meth:`~pyod_dsnf.pipeline.Windowing.test`), e.g. one
        for "field" and one for "person".
    masks : mapping of str to ndarray
        Frame labels of every test clip.
    random_state, dsnf_params, flat
        As in :func:`run_method` (one cache of fitted DSNF flows serves all methods).
    bar : tqdm, optional
        Updated once per method.

    Returns
    -------
    list of MethodResult
        In the order of ``methods``.
    """
    fitted: dict = {}  # dsnf and dsnf-nll share one fit
    out = []
    for method in methods:
        if bar is not None:
            bar.set_postfix_str(f"seed {random_state} {method}")
        reset_peak_rss()
        run = run_method(
            method,
            X_train,
            [t.segments.X for t in tests],
            random_state=random_state,
            dsnf_params=dsnf_params,
            flat=flat,
            fitted=fitted,
        )
        mem = peak_rss_mib()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*only one class.*")
            warnings.filterwarnings("ignore", message=".*no clip holds both classes.*")
            pairs = zip(run.scores, tests, strict=True)
            frames = [to_frames(segment_scores(s, t), masks) for s, t in pairs]
            mets = [metrics(f, masks) for f in frames]
        out.append(MethodResult(run=run, frames=frames, metrics=mets, peak_rss_mib=mem))
        if bar is not None:
            bar.update(1)
    return out
