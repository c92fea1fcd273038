"""The offline counterpart of the stream: causal scores of recorded clips in one batch.

:func:`causal_scores` cuts clips with the pipeline's causal recipe
(``pipeline.cut(clips, Windowing.causal(...))``, defined in :mod:`pyod_dsnf.poses.causal`,
whose :func:`~pyod_dsnf.poses.causal.causal_segments` is re-exported here), exactly as
:class:`~pyod_dsnf.stream.StreamScorer` sees them, and scores them; with
``frame_scores(..., alignment="causal")`` the per-frame scores equal what streaming the
clips frame by frame gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pyod_dsnf.poses import Clip, Segments
from pyod_dsnf.poses.causal import causal_segments

__all__ = ["causal_scores", "causal_segments", "causal_tracks"]


def causal_scores(
    detector: Any,
    clips: Clip | Sequence[Clip],
    *,
    max_gap: int = 2,
    stride: int = 1,
    warm_up: bool = True,
) -> tuple[Segments, np.ndarray]:
    """Causal windows of ``clips`` and the detector's scores of them.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted.
    clips : Clip or sequence of Clip
    max_gap, stride, warm_up
        As :func:`causal_segments`.

    Returns
    -------
    segments : Segments
    scores : ndarray of shape (n_segments,)
        ``detector.decision_function`` of the windows.
    """
    from pyod_dsnf.pipeline.steps import Windowing, cut  # the pipeline, loaded when scoring

    t, _, c = (int(s) for s in detector.input_shape_)
    seg = cut(clips, Windowing.causal(t, stride=stride, max_gap=max_gap, warm_up=warm_up)).segments
    scores = detector.decision_function(seg.X[..., :c]) if len(seg) else np.zeros(0)
    return seg, scores


def causal_tracks(
    detector: Any,
    clips: Clip | Sequence[Clip],
    *,
    max_gap: int = 2,
    stride: int = 1,
    warm_up: bool = True,
    alert_after: int = 1,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Per (clip, person) scored frames and scores, for :func:`budget_threshold`.

    ``max_gap``, ``stride`` and ``warm_up`` as :func:`causal_segments`;
    windows with fewer than ``alert_after`` real frames are left out, as
    ``StreamScorer(alert_after=...)`` never lets them alert.

    Returns
    -------
    tracks : list of (frames, scores)
    n_frames : int
        Frames of the clips (each up to its last posed frame).
    """
    seq = [clips] if isinstance(clips, Clip) else list(clips)
    seg, scores = causal_scores(detector, seq, max_gap=max_gap, stride=stride, warm_up=warm_up)
    keep = seg.length >= alert_after
    frame = (seg.start + seg.length - 1)[keep]
    seg = Segments(seg.X[:0], seg.clip[keep], seg.person[keep], seg.start[keep],
                   seg.length[keep], seg.seg_len)  # fmt: skip
    scores = scores[keep]
    out = []
    if len(seg.clip):
        order = np.lexsort((frame, seg.person, seg.clip))
        key = np.char.add(seg.clip[order], np.char.mod("/%d", seg.person[order]))
        cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
        for idx in np.split(order, cuts):
            out.append((frame[idx], scores[idx]))
    return out, int(sum(c.last_frame + 1 for c in seq))
