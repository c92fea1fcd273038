"""The data path from pose files to frame metrics, one step each.

:mod:`~pyod_dsnf.pipeline.steps` holds the steps (``load`` -> ``cut`` -> ``score`` ->
``to_frames`` -> ``metrics``), :mod:`~pyod_dsnf.pipeline.parallel` runs the same steps clip
by clip in joblib workers, and :mod:`~pyod_dsnf.pipeline.files` reads folders and writes the
model, score and metric files of ``pyod-dsnf fit`` / ``score`` / ``evaluate``.
"""

from pyod_dsnf.evaluation.metrics import MAPPING_NAMES
from pyod_dsnf.pipeline.steps import (
    FrameMetrics,
    FrameScores,
    SegmentScores,
    SegmentSet,
    Windowing,
    cut,
    load,
    metrics,
    rank_safe,
    score,
    segment_labels,
    segment_scores,
    to_frames,
)

__all__ = [
    "MAPPING_NAMES",
    "FrameMetrics",
    "FrameScores",
    "SegmentScores",
    "SegmentSet",
    "Windowing",
    "cut",
    "load",
    "metrics",
    "rank_safe",
    "score",
    "segment_labels",
    "segment_scores",
    "to_frames",
]
