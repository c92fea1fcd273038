"""Live scoring: pose streams in, per-person scores and alerts out (docs/streaming.md)."""

from pyod_dsnf.stream.alerts import AlertBudget, AlertRule, budget_threshold, count_alerts
from pyod_dsnf.stream.offline import causal_scores, causal_segments, causal_tracks
from pyod_dsnf.stream.scorer import ScoreRecord, StreamScorer

__all__ = [
    "AlertBudget",
    "AlertRule",
    "ScoreRecord",
    "StreamScorer",
    "budget_threshold",
    "causal_scores",
    "causal_segments",
    "causal_tracks",
    "count_alerts",
]
