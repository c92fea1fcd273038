"""Alert thresholds from the model's own held-out windows, tail extrapolation, warm-up matching.

Three pieces, used by ``pyod-dsnf stream --budget`` and :class:`StreamScorer`:

* :func:`calibrate_detector` stores in ``detector.calibration_`` what the stream
  needs from the training windows that ``fit`` held out (``validation_index_``):
  their scores, the footage they were drawn from (camera-frames and
  person-frames) and a table of score quantiles by warm-up age. ``pyod-dsnf fit``
  calls it, and :meth:`DSNFDetector.save` writes it to the model file.
* :func:`model_budget` turns that into the threshold of a false-alarm budget
  (alerts per camera-hour), extrapolating the tail with a generalised Pareto
  fit (:func:`tail_threshold`, peaks over threshold as in SPOT, Siffer et al.,
  KDD 2017) when the budget asks for a rate below what the windows show.
* :class:`AgeMatch` maps the score of a warm-up window (a young track's window,
  its missing start padded with the first pose) onto the score scale of full
  windows by quantile matching, so one threshold means the same false-alarm
  rate at every track age (docs/streaming.md, "Warm-up").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyod_dsnf._checks import check_int

__all__ = [
    "LEVELS",
    "AgeMatch",
    "TailFit",
    "age_table",
    "calibrate_detector",
    "footage",
    "match_ages",
    "model_budget",
    "tail_threshold",
]

#: Probability levels of the quantile table by warm-up age (1 %, 2 %, ..., 99 %).
LEVELS = np.arange(1, 100) / 100.0

#: Held-out windows used to build the table of warm-up ages (one forward each per age).
_AGE_WINDOWS = 256


def _pad(X: np.ndarray, age: int) -> np.ndarray:
    """Warm-up windows of age ``age``: the first ``age`` frames, the start padded by frame 0."""
    t = X.shape[1]
    steps = np.maximum(np.arange(t) - (t - age), 0)
    return X[:, steps]


def age_table(scores: np.ndarray, ages: np.ndarray, seg_len: int) -> np.ndarray:
    """Quantiles (1 %, ..., 99 %) of scores by window age, shape ``(seg_len, 99)``.

    Parameters
    ----------
    scores : ndarray of shape (n,)
    ages : ndarray of shape (n,) of int
        Real frames in each window, 1 to ``seg_len``.
    seg_len : int

    Returns
    -------
    ndarray
        Row ``a - 1`` holds the quantiles of the windows of age ``a``; NaN for an
        age without finite scores.
    """
    scores = np.asarray(scores, np.float64)
    ages = np.asarray(ages)
    table = np.full((seg_len, LEVELS.size), np.nan)
    for a in range(1, seg_len + 1):
        s = scores[(ages == a) & np.isfinite(scores)]
        if s.size:
            table[a - 1] = np.quantile(s, LEVELS)
    return table


class AgeMatch:
    """Map warm-up scores onto the score scale of full windows, by quantile matching.

    A window of age ``a`` (``a`` real frames, ``a < T``) whose score is the
    ``p``-quantile of normal windows of that age gets the ``p``-quantile of
    normal full windows; between the table's levels the map is linear, beyond
    them it shifts by the difference of the outermost quantiles. Full windows and
    ages without a row are left as they are.

    Parameters
    ----------
    table : ndarray of shape (T, n_levels)
        From :func:`age_table`; row ``T - 1`` (full windows) must be finite.
    """

    def __init__(self, table: np.ndarray) -> None:
        table = np.asarray(table, np.float64)
        if table.ndim != 2 or table.shape[1] != LEVELS.size or table.shape[0] < 1:
            raise ValueError(
                f"table must have shape (seg_len, {LEVELS.size}), got {table.shape}"
            )
        if not np.isfinite(table[-1]).all():
            raise ValueError("table: the row of full windows (the last) must be finite")
        self.table = table
        self.seg_len = table.shape[0]

    def __call__(self, scores: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """Matched scores of windows with ``ages`` real frames (float64 array)."""
        s = np.asarray(scores, np.float64).copy()
        ages = np.asarray(ages)
        full = self.table[-1]
        for a in np.unique(ages).tolist():
            if a >= self.seg_len or a < 1 or not np.isfinite(self.table[a - 1]).all():
                continue
            row = np.maximum.accumulate(self.table[a - 1])  # guard against float ties
            m = ages == a
            v = s[m]
            out = np.interp(v, row, full)
            out = np.where(v < row[0], v + (full[0] - row[0]), out)
            out = np.where(v > row[-1], v + (full[-1] - row[-1]), out)
            s[m] = np.where(np.isfinite(v), out, v)
        return s


def calibrate_detector(
    detector: Any,
    X: np.ndarray,
    *,
    camera_frames: int,
    person_frames: int,
) -> dict[str, Any]:
    """Store in ``detector.calibration_`` what the stream needs from the held-out windows.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted on ``X`` (its ``validation_index_`` indexes ``X``).
    X : ndarray of shape (n_segments, T, V, C)
        The training windows given to ``fit``.
    camera_frames : int
        Frames of the training footage summed over clips (its camera-time).
    person_frames : int
        Person-frames of that footage (what the stream would score).

    Returns
    -------
    dict
        ``detector.calibration_``: ``scores`` (held-out window scores),
        ``n_windows`` (windows they were drawn from), ``camera_frames``,
        ``person_frames`` and ``age_quantiles`` (:func:`age_table` of the held-out
        windows re-cut as warm-up windows of every age; their full-window row is
        that of ``scores``).
    """
    idx = np.asarray(getattr(detector, "validation_index_", np.zeros(0, np.int64)))
    if idx.size < 2:
        raise ValueError(
            "the detector held out fewer than 2 training windows (validation_fraction="
            f"{detector.validation_fraction!r}): nothing to calibrate on"
        )
    camera_frames = check_int("camera_frames", camera_frames, 1)
    person_frames = check_int("person_frames", person_frames, 1)
    X = np.asarray(X)
    t = int(detector.input_shape_[0])
    scores = np.asarray(detector.decision_scores_, np.float64)[idx]
    pick = idx[np.linspace(0, idx.size - 1, min(idx.size, _AGE_WINDOWS)).astype(int)]
    Xa = X[pick]
    warm, ages = np.zeros(0), np.zeros(0, np.int64)
    if t > 1:
        W = np.concatenate([_pad(Xa, a) for a in range(1, t)])
        ages = np.repeat(np.arange(1, t), len(pick))
        if W.shape[-1] == 3:  # windows without a detected joint are not scored (as the stream)
            keep = (W[..., 2] > 0).any(axis=(1, 2))
            W, ages = W[keep], ages[keep]
        warm = detector.decision_function(W) if len(W) else np.zeros(0)
    table = age_table(np.concatenate([warm, scores]),
                      np.concatenate([ages, np.full(scores.size, t)]), t)  # fmt: skip
    detector.calibration_ = {
        "scores": scores,
        "n_windows": len(detector.decision_scores_),
        "camera_frames": int(camera_frames),
        "person_frames": int(person_frames),
        "age_quantiles": table,
    }
    return detector.calibration_


def _check_calibration(cal: Any, seg_len: int) -> dict[str, Any]:
    if not isinstance(cal, dict):
        raise ValueError(
            "the model holds no calibration (files written by 'pyod-dsnf fit' before this "
            "version, or a detector fitted in Python without calibrate_detector): pass "
            "--normal POSE_DIR, footage of normal activity, for --budget"
        )
    scores = np.asarray(cal.get("scores", ()), np.float64).ravel()
    table = np.asarray(cal.get("age_quantiles", np.zeros((0, 0))), np.float64)
    ok = scores.size >= 2 and table.shape == (seg_len, LEVELS.size)
    ok = ok and all(int(cal.get(k, 0)) >= 1 for k in ("camera_frames", "person_frames"))
    if not ok:
        raise ValueError("the model's calibration_ is malformed; pass --normal POSE_DIR")
    return {**cal, "scores": scores, "age_quantiles": table}


@dataclass(frozen=True)
class TailFit:
    """A threshold from a generalised Pareto fit of the tail (:func:`tail_threshold`).

    Attributes
    ----------
    threshold : float
    interval : tuple of float
        5 % and 95 % bootstrap quantiles of the threshold.
    shape, scale : float
        Fitted GPD shape (xi) and scale (sigma) of the excesses over ``base``.
    base : float
        The initial threshold u whose excesses were fitted.
    n_excess : int
        Samples above ``base``.
    ks_pvalue : float
        Kolmogorov-Smirnov p-value of the excesses against the fit (optimistic:
        the parameters were fitted on the same excesses).
    poor : str
        Why the fit is poor, or "" when it is not.
    """

    threshold: float
    interval: tuple[float, float]
    shape: float
    scale: float
    base: float
    n_excess: int
    ks_pvalue: float
    poor: str


def _gpd_quantile(u: float, xi: float, sigma: float, ratio: float) -> float:
    """u + the excess exceeded with probability ``ratio`` (tail prob / share above u)."""
    if abs(xi) < 1e-9:
        return u - sigma * math.log(ratio)
    return u + sigma / xi * (ratio ** (-xi) - 1.0)


def tail_threshold(
    samples: np.ndarray,
    tail_prob: float,
    *,
    base_level: float = 0.98,
    min_excess: int = 20,
    n_boot: int = 200,
    random_state: int = 0,
) -> TailFit:
    """Score exceeded with probability ``tail_prob``, by a peaks-over-threshold GPD fit.

    The excesses of ``samples`` over their ``base_level`` quantile u (lowered until
    at least ``min_excess`` samples exceed it, when there are that many) are fitted
    by a generalised Pareto distribution (maximum likelihood, location 0), and the
    threshold is ``u + sigma / xi * ((tail_prob * n / n_u) ** -xi - 1)`` (SPOT,
    Siffer et al., KDD 2017). Its interval comes from refitting ``n_boot``
    bootstrap resamples of the excesses.

    Parameters
    ----------
    samples : ndarray of shape (n,)
        Finite scores of normal data.
    tail_prob : float in (0, 1)
        Wanted probability that a normal score exceeds the threshold.
    base_level : float, default=0.98
    min_excess : int, default=20
    n_boot : int, default=200
    random_state : int, default=0
        Seed of the bootstrap (a local generator).

    Returns
    -------
    TailFit
        ``poor`` says when the fit should not be trusted: fewer than
        ``min_excess`` excesses, a heavy tail (xi > 0.5), a KS p-value below
        0.05, a threshold more than 100 times rarer than the rarest sample, or a
        wide interval (its upper end more than 5 times as far above u as its
        lower end).
    """
    from scipy import stats

    s = np.sort(np.asarray(samples, np.float64)[np.isfinite(samples)])
    n = s.size
    if n < 3:
        raise ValueError(f"samples must hold at least 3 finite scores, got {n}")
    if not 0.0 < tail_prob < 1.0:
        raise ValueError(f"tail_prob must be in (0, 1), got {tail_prob!r}")
    level = base_level
    u = float(np.quantile(s, level))
    while (s > u).sum() < min(min_excess, n - 1) and level > 0.5:
        level -= 0.02
        u = float(np.quantile(s, level))
    excess = s[s > u] - u
    n_u = excess.size
    ratio = tail_prob * n / n_u

    def fit(e: np.ndarray) -> tuple[float, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xi, _, sigma = stats.genpareto.fit(e, floc=0.0)
        return float(xi), float(sigma)

    xi, sigma = fit(excess)
    z = _gpd_quantile(u, xi, sigma, ratio)
    rng = np.random.default_rng(random_state)
    boots = []
    for _ in range(n_boot):
        e = rng.choice(excess, size=n_u, replace=True)
        if np.ptp(e) <= 0:
            continue
        bx, bs = fit(e)
        boots.append(_gpd_quantile(u, bx, bs, ratio))
    lo, hi = (np.quantile(boots, [0.05, 0.95]).tolist() if boots else [z, z])
    ks = float(stats.kstest(excess, "genpareto", args=(xi, 0.0, sigma)).pvalue)
    why = []
    if n_u < min_excess:
        why.append(f"only {n_u} scores above the base threshold {u:.4g}")
    if xi > 0.5:
        why.append(f"a heavy tail (shape {xi:.2f} > 0.5)")
    if ks < 0.05:
        why.append(f"the excesses do not follow the fit (KS p = {ks:.3g})")
    if tail_prob * n < 0.01:
        why.append(f"an extrapolation {1 / (tail_prob * n):.3g} times beyond the rarest score")
    if lo > u and (hi - u) > 5 * (lo - u):
        why.append(f"a wide interval ({lo:.3g} - {hi:.3g}: the data hardly fix the tail)")
    return TailFit(float(z), (float(lo), float(hi)), xi, sigma, u, int(n_u), ks, "; ".join(why))


def model_budget(
    detector: Any,
    *,
    alerts_per_hour: float,
    fps: float,
    min_gap: int = 30,
    hysteresis: float = 0.0,
) -> Any:
    """Threshold of a false-alarm budget from the model's held-out windows.

    Every person-frame of the training footage whose window score exceeds the
    threshold is counted as a possible alert (the episode rule can only merge
    them), so the budget is met with a margin: the expected number of
    exceedances per camera-hour, ``tail(t) * person_frames / camera_hours``,
    is at most ``alerts_per_hour``, where ``tail(t)`` is the share of held-out
    window scores above ``t``. When that share is below ``1 / n_held_out``,
    :func:`tail_threshold` extrapolates it.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted, with ``calibration_`` (:func:`calibrate_detector`).
    alerts_per_hour : float > 0
    fps : float > 0
    min_gap, hysteresis
        The episode rule (:class:`~pyod_dsnf.stream.AlertRule`).

    Returns
    -------
    AlertBudget
        ``method`` is "held-out" (an empirical quantile) or "held-out + GPD"
        (with ``interval`` and, for a poor fit, ``note``); ``n_alerts`` counts
        the held-out windows above the threshold.

    Raises
    ------
    ValueError
        When the detector has no calibration (a message says to pass normal footage).
    """
    from pyod_dsnf.stream.alerts import AlertBudget, AlertRule, _real

    b = _real("alerts_per_hour", alerts_per_hour, 0.0, low_open=True)
    fps = _real("fps", fps, 0.0, low_open=True)
    cal = _check_calibration(getattr(detector, "calibration_", None),
                             int(detector.input_shape_[0]))  # fmt: skip
    scores = cal["scores"][np.isfinite(cal["scores"])]
    hours = cal["camera_frames"] / fps / 3600.0
    tail = min(b * hours / cal["person_frames"], 1.0)  # allowed share of exceeding windows
    allowed = math.floor(tail * scores.size)
    interval, note, method = None, "", "held-out"
    if allowed >= 1:
        desc = np.sort(scores)[::-1]
        t = float(desc[allowed]) if allowed < desc.size else float(desc[-1])
    else:
        fit = tail_threshold(scores, tail)
        t, interval, note, method = fit.threshold, fit.interval, fit.poor, "held-out + GPD"
        if note:
            warnings.warn(
                f"the tail fit behind the threshold {t:.4g} is poor ({note}); treat it as a "
                f"rough guess or pass --normal with more footage",
                UserWarning,
                stacklevel=2,
            )
    rule = AlertRule(t, min_gap=min_gap, hysteresis=hysteresis)
    return AlertBudget(t, b, fps, hours, int((scores > t).sum()), allowed, int(scores.size),
                       rule, method=method, interval=interval, note=note)  # fmt: skip


def match_ages(detector: Any) -> AgeMatch | None:
    """The :class:`AgeMatch` of a calibrated detector, or None without ``calibration_``."""
    cal = getattr(detector, "calibration_", None)
    if not isinstance(cal, dict):
        return None
    cal = _check_calibration(cal, int(detector.input_shape_[0]))
    return AgeMatch(cal["age_quantiles"])


def footage(clips: Sequence[Any]) -> tuple[int, int]:
    """(camera-frames, person-frames) of clips: frames up to each clip's last posed one."""
    cams = int(sum(c.last_frame + 1 for c in clips))
    people = int(sum(len(t) for c in clips for t in c.tracks))
    return cams, people
