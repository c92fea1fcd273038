"""Frame-level scores and metrics (see docs/evaluation.md)."""

from pyod_dsnf.evaluation.evaluate import Evaluation, evaluate
from pyod_dsnf.evaluation.frame_scores import FIELD_SIGMAS, MODES, frame_scores
from pyod_dsnf.evaluation.metrics import (
    auc_pr,
    auc_roc,
    equal_error_rate,
    frame_metrics,
    macro_auc_roc,
    pad_to_masks,
    pool_frames,
)
from pyod_dsnf.evaluation.plot import anomalous_intervals, plot_frame_scores
from pyod_dsnf.evaluation.smoothing import gaussian_smooth

__all__ = [
    "FIELD_SIGMAS",
    "MODES",
    "Evaluation",
    "anomalous_intervals",
    "auc_pr",
    "auc_roc",
    "equal_error_rate",
    "evaluate",
    "frame_metrics",
    "frame_scores",
    "gaussian_smooth",
    "macro_auc_roc",
    "pad_to_masks",
    "plot_frame_scores",
    "pool_frames",
]
