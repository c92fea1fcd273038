"""Alerts: one per episode of high scores, and thresholds from a false-alarm budget.

An *episode* of one tracked person starts at the first scored frame whose score
exceeds ``threshold``; that frame raises the alert. The episode lasts while the
person's scores stay above ``threshold - hysteresis`` and ends once ``min_gap``
frames have passed since the last such score; only then can a new alert fire.
So a person who stays abnormal for a minute raises one alert, not 1,800.

:func:`budget_threshold` picks the threshold from normal footage: the lowest
score threshold at which the episodes counted on that footage stay within "at
most N alerts per camera-hour at F fps". See ``docs/streaming.md``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyod_dsnf._checks import check_int

__all__ = ["AlertBudget", "AlertRule", "budget_threshold", "count_alerts", "episode_peaks"]


def _real(name: str, value: object, low: float, *, low_open: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value))  # type: ignore[arg-type]
    ok = ok and (float(value) > low if low_open else float(value) >= low)  # type: ignore[arg-type]
    if not ok:
        rel = ">" if low_open else ">="
        raise ValueError(f"{name} must be a finite number {rel} {low}, got {value!r}")
    return float(value)  # type: ignore[arg-type]





@dataclass(frozen=True)
class AlertRule:
    """When a person's scores raise an alert.

    Parameters
    ----------
    threshold : float
        A score above it starts an episode and raises its alert.
    min_gap : int, default=30
        Frames after the episode's last score above ``threshold - hysteresis``
        before the episode ends (30 = one second at 30 fps).
    hysteresis : float, default=0.0
        Scores above ``threshold - hysteresis`` keep an episode going.
    """

    threshold: float
    min_gap: int = 30
    hysteresis: float = 0.0

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or math.isnan(t):
            raise ValueError(f"threshold must be a number (inf allowed), got {t!r}")
        object.__setattr__(self, "threshold", float(t))
        object.__setattr__(self, "min_gap", check_int("min_gap", self.min_gap, 0))
        object.__setattr__(self, "hysteresis", _real("hysteresis", self.hysteresis, 0.0))

    def step(self, active: bool, last: int, frame: int, score: float) -> tuple[bool, bool, int]:
        """Advance one person's episode state by one scored frame.

        Parameters
        ----------
        active : bool
            Whether the person is in an episode.
        last : int
            Frame of the episode's last score above ``threshold - hysteresis``.
        frame : int
            The scored frame (after every earlier one of this person).
        score : float

        Returns
        -------
        alert : bool
            True when this frame starts an episode.
        active, last : bool, int
            The new state.
        """
        if active and frame - last > self.min_gap:
            active = False
        if active:
            if score > self.threshold - self.hysteresis:
                last = frame
            return False, True, last
        if score > self.threshold:
            return True, True, frame
        return False, False, last


def count_alerts(
    tracks: Iterable[tuple[np.ndarray, np.ndarray]], rule: AlertRule
) -> int:
    """Number of alerts ``rule`` raises over scored tracks.

    Parameters
    ----------
    tracks : iterable of (frames, scores)
        Per person, the scored frames (increasing) and their scores.
    rule : AlertRule

    Returns
    -------
    int
    """
    n = 0
    for frames, scores in tracks:
        s = np.asarray(scores, dtype=np.float64)
        if not (s > rule.threshold).any():
            continue  # no episode can start: skip the loop
        active, last = False, 0
        for f, v in zip(np.asarray(frames).tolist(), s.tolist(), strict=True):
            alert, active, last = rule.step(active, last, f, v)
            n += alert
    return n


@dataclass(frozen=True)
class AlertBudget:
    """A threshold chosen by :func:`budget_threshold`, with what it was chosen on.

    Attributes
    ----------
    threshold : float
        Alerts fire above it.
    alerts_per_hour : float
        The budget asked for (alerts per camera-hour).
    fps : float
        Frame rate used to turn frames into hours.
    hours : float
        Camera-hours of the normal footage.
    n_alerts : int
        Alerts the threshold raises on that footage (at most ``n_allowed``).
    n_allowed : int
        ``floor(alerts_per_hour * hours)``.
    n_scores : int
        Scored person-frames of the footage.
    rule : AlertRule
        The rule with the chosen threshold.
    method : str
        "count" (alerts counted on the footage), "count + GPD" (the footage was
        too short: the tail of its episode peaks extrapolated), "held-out" or
        "held-out + GPD" (from the model's held-out windows,
        :func:`pyod_dsnf.stream.model_budget`).
    interval : tuple of float or None
        For the GPD methods, the 5 % - 95 % bootstrap interval of the threshold.
    note : str
        Why the tail fit is poor, or "".
    """

    threshold: float
    alerts_per_hour: float
    fps: float
    hours: float
    n_alerts: int
    n_allowed: int
    n_scores: int
    rule: AlertRule
    method: str = "count"
    interval: tuple[float, float] | None = None
    note: str = ""

    def describe(self) -> str:
        """One line: the threshold, its interval, and what it was chosen on."""
        text = f"threshold {self.threshold:.6g}"
        if self.interval is not None:
            text += f" (90% interval {self.interval[0]:.4g} - {self.interval[1]:.4g})"
        per = f"{self.alerts_per_hour:g} alert(s) per camera-hour at {self.fps:g} fps"
        if self.method.startswith("held-out"):
            text += (f" from {per}, set on the model's {self.n_scores} held-out windows "
                     f"({self.hours:.3g} camera-hours of training footage): {self.n_alerts} "
                     f"of them above it")  # fmt: skip
        else:
            text += (f" from {per}: {self.n_alerts} alert(s) in {self.hours:.3g} camera-hours "
                     f"of normal footage")  # fmt: skip
        if "GPD" in self.method:
            text += ", tail extrapolated by a generalised Pareto fit"
        if self.note:
            text += f" (poor fit: {self.note})"
        return text


def budget_threshold(
    tracks: Sequence[tuple[np.ndarray, np.ndarray]],
    n_frames: int,
    *,
    alerts_per_hour: float = 1.0,
    fps: float = 30.0,
    min_gap: int = 30,
    hysteresis: float = 0.0,
) -> AlertBudget:
    """Lowest threshold whose alerts on normal footage fit a false-alarm budget.

    Parameters
    ----------
    tracks : sequence of (frames, scores)
        Causal scores of normal footage per person, e.g. from
        :func:`pyod_dsnf.stream.causal_tracks`.
    n_frames : int
        Frames of that footage summed over cameras (clips): its camera-time.
    alerts_per_hour : float, default=1.0
        Allowed alerts per camera-hour.
    fps : float, default=30.0
        Frame rate of the cameras.
    min_gap, hysteresis
        Episode rule (:class:`AlertRule`).

    Returns
    -------
    AlertBudget

    Notes
    -----
    The threshold is searched by bisection over the observed scores. The alert
    count is not strictly monotone in the threshold (removing one high score can
    split an episode in two), so the guarantee is for the returned threshold:
    ``n_alerts <= n_allowed`` on this footage. When the footage is too short for
    the budget to allow a single alert, the threshold is set just above the
    budget to allow a single alert, the episodes are counted at a lower base
    threshold u (the 98 % quantile of the scores), and the tail of their peak
    scores is extrapolated by a generalised Pareto fit
    (:func:`pyod_dsnf.stream.tail_threshold`) to the threshold whose
    expected episode count is ``alerts_per_hour * hours``; the result carries
    its bootstrap interval, and a warning says when the fit is poor.
    """
    alerts_per_hour = _real("alerts_per_hour", alerts_per_hour, 0.0)
    fps = _real("fps", fps, 0.0, low_open=True)
    n_frames = check_int("n_frames", n_frames, 1)
    tracks = [(np.asarray(f), np.asarray(s, dtype=np.float64)) for f, s in tracks]
    all_scores = np.concatenate([s for _, s in tracks]) if tracks else np.zeros(0)
    if all_scores.size == 0:
        raise ValueError("tracks hold no scores: the normal footage gave no full window")
    if not np.isfinite(all_scores).all():
        bad = int((~np.isfinite(all_scores)).sum())
        warnings.warn(
            f"{bad} of the normal scores are infinite; they always alert", stacklevel=2
        )
    hours = n_frames / fps / 3600.0
    allowed = math.floor(alerts_per_hour * hours)
    cand = np.unique(all_scores[np.isfinite(all_scores)])

    def rule(t: float) -> AlertRule:
        return AlertRule(t, min_gap=min_gap, hysteresis=hysteresis)

    top = float(np.nextafter(cand[-1], np.inf)) if cand.size else 0.0
    if cand.size == 0:
        return AlertBudget(top, alerts_per_hour, fps, hours, count_alerts(tracks, rule(top)),
                           allowed, int(all_scores.size), rule(top))  # fmt: skip
    if allowed == 0:
        return _extrapolated(tracks, cand, hours, alerts_per_hour, fps, rule, all_scores.size)
    # bisection for the lowest candidate index whose count fits (top always fits)
    lo, hi = 0, cand.size  # index cand.size stands for `top`

    def at(i: int) -> float:
        return top if i == cand.size else float(cand[i])

    if count_alerts(tracks, rule(at(lo))) <= allowed:
        hi = lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_alerts(tracks, rule(at(mid))) <= allowed:
            hi = mid
        else:
            lo = mid
    t = at(hi)
    return AlertBudget(t, alerts_per_hour, fps, hours, count_alerts(tracks, rule(t)), allowed,
                       int(all_scores.size), rule(t))  # fmt: skip


def episode_peaks(
    tracks: Iterable[tuple[np.ndarray, np.ndarray]], rule: AlertRule
) -> np.ndarray:
    """Highest score of every episode ``rule`` finds in scored tracks (one per alert)."""
    peaks: list[float] = []
    for frames, scores in tracks:
        s = np.asarray(scores, dtype=np.float64)
        if not (s > rule.threshold).any():
            continue
        active, last = False, 0
        for f, v in zip(np.asarray(frames).tolist(), s.tolist(), strict=True):
            alert, active, last = rule.step(active, last, f, v)
            if alert:
                peaks.append(v)
            elif active and v > peaks[-1]:
                peaks[-1] = v
    return np.asarray(peaks, dtype=np.float64)


def _extrapolated(
    tracks: list, cand: np.ndarray, hours: float, per_hour: float, fps: float, rule: Any,
    n_scores: int,
) -> AlertBudget:
    """Budget below one alert on the footage: GPD tail of the episode peaks over a base u."""
    from pyod_dsnf.stream.calibration import tail_threshold

    peaks = np.zeros(0)
    for level in (0.98, 0.95, 0.9, 0.8, 0.5) if per_hour > 0 else ():
        u = float(np.quantile(cand, level))
        peaks = episode_peaks(tracks, rule(u))
        if peaks.size >= 20:
            break
    if peaks.size < 3:
        t = float(np.nextafter(cand[-1], np.inf))
        warnings.warn(
            f"the normal footage covers {hours:.3g} camera-hours, too little for a budget of "
            f"{per_hour} alert(s) per hour to allow one alert, and shows too few episodes "
            f"({peaks.size}) to extrapolate; the threshold is set above the highest normal "
            f"score",
            UserWarning,
            stacklevel=3,
        )
        return AlertBudget(t, per_hour, fps, hours, count_alerts(tracks, rule(t)), 0,
                           n_scores, rule(t))  # fmt: skip
    fit = tail_threshold(peaks, min(per_hour * hours / peaks.size, 0.5), base_level=0.0)
    if fit.poor:
        warnings.warn(
            f"the tail fit behind the threshold {fit.threshold:.4g} is poor ({fit.poor}); "
            f"treat it as a rough guess or give more normal footage",
            UserWarning,
            stacklevel=3,
        )
    t = fit.threshold
    return AlertBudget(t, per_hour, fps, hours, count_alerts(tracks, rule(t)), 0, n_scores,
                       rule(t), method="count + GPD", interval=fit.interval,
                       note=fit.poor)  # fmt: skip
