"""Live scoring: pose streams in, per-person scores and alerts out (docs/streaming.md)."""

from pyod_dsnf.stream.alerts import AlertBudget, AlertRule, budget_threshold, count_alerts
from pyod_dsnf.stream.calibration import (
    AgeMatch,
    TailFit,
    age_table,
    calibrate_detector,
    match_ages,
    model_budget,
    tail_threshold,
)
from pyod_dsnf.stream.offline import causal_scores, causal_segments, causal_tracks
from pyod_dsnf.stream.scorer import ScoreRecord, StreamScorer

__all__ = [
    "AgeMatch",
    "AlertBudget",
    "AlertRule",
    "ScoreRecord",
    "StreamScorer",
    "TailFit",
    "age_table",
    "budget_threshold",
    "calibrate_detector",
    "causal_scores",
    "causal_segments",
    "causal_tracks",
    "count_alerts",
    "match_ages",
    "model_budget",
    "tail_threshold",
]
