"""The offline counterpart of the stream: causal scores of recorded clips in one batch.

:func:`causal_scores` cuts clips with the pipeline's causal recipe
(``pipeline.cut(clips, Windowing.causal(...))``, defined in :mod:`pyod_dsnf.poses.causal`,
whose :func:`~pyod_dsnf.poses.causal.causal_segments` is re-exported here), exactly as
:class:`~pyod_dsnf.stream.StreamScorer` sees them, and scores them; with
``frame_scores(..., alignment="causal")`` the per-frame scores equal what streaming the
clips frame by frame gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyod_dsnf.poses import Clip, Segments
from pyod_dsnf.poses.causal import causal_segments

__all__ = ["causal_scores", "causal_segments", "causal_tracks", "group_tracks"]


def causal_scores(
    detector: Any,
    clips: Clip | Sequence[Clip],
    *,
    max_gap: int = 2,
    stride: int = 1,
    warm_up: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Segments, np.ndarray]:
    """Causal windows of ``clips`` and the detector's scores of them.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted.
    clips : Clip or sequence of Clip
    max_gap, stride, warm_up
        As :func:`causal_segments`.
    progress : callable, optional
        Called as ``progress(done, total)`` (windows) after each chunk of
        scoring; the windows are then scored in chunks of 4,096 (the same scores).

    Returns
    -------
    segments : Segments
    scores : ndarray of shape (n_segments,)
        ``detector.decision_function`` of the windows.
    """
    from pyod_dsnf.pipeline.steps import Windowing, cut  # the pipeline, loaded when scoring

    t, _, c = (int(s) for s in detector.input_shape_)
    seg = cut(clips, Windowing.causal(t, stride=stride, max_gap=max_gap, warm_up=warm_up)).segments
    if not len(seg):
        return seg, np.zeros(0)
    if progress is None:
        return seg, detector.decision_function(seg.X[..., :c])
    parts = []
    for i in range(0, len(seg), 4096):
        parts.append(detector.decision_function(seg.X[i : i + 4096, ..., :c]))
        progress(min(i + 4096, len(seg)), len(seg))
    return seg, np.concatenate(parts)


def causal_tracks(
    detector: Any,
    clips: Clip | Sequence[Clip],
    *,
    max_gap: int = 2,
    stride: int = 1,
    warm_up: bool = True,
    alert_after: int = 1,
    age_match: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Per (clip, person) scored frames and scores, for :func:`budget_threshold`.

    ``max_gap``, ``stride`` and ``warm_up`` as :func:`causal_segments`;
    windows with fewer than ``alert_after`` real frames are left out, as
    ``StreamScorer(alert_after=...)`` never lets them alert. ``age_match``
    (e.g. :class:`~pyod_dsnf.stream.AgeMatch`) maps the scores of
    warm-up windows as ``StreamScorer(age_match=...)`` does; ``progress`` as
    :func:`causal_scores`.

    Returns
    -------
    tracks : list of (frames, scores)
    n_frames : int
        Frames of the clips (each up to its last posed frame).
    """
    seq = [clips] if isinstance(clips, Clip) else list(clips)
    seg, scores = causal_scores(detector, seq, max_gap=max_gap, stride=stride, warm_up=warm_up,
                                progress=progress)  # fmt: skip
    if age_match is not None and len(scores):
        scores = age_match(scores, seg.length)
    return group_tracks(seg, scores, alert_after), int(sum(c.last_frame + 1 for c in seq))


def group_tracks(
    seg: Segments, scores: np.ndarray, alert_after: int = 1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per (clip, person), the scored frames (increasing) and their scores.

    Parameters
    ----------
    seg : Segments
        Causal windows (:func:`causal_segments`).
    scores : ndarray of shape (len(seg),)
    alert_after : int, default=1
        Windows with fewer real frames are left out.

    Returns
    -------
    list of (frames, scores)
    """
    keep = seg.length >= alert_after
    frame = (seg.start + seg.length - 1)[keep]
    clip, person, scores = seg.clip[keep], seg.person[keep], np.asarray(scores)[keep]
    out = []
    if len(clip):
        order = np.lexsort((frame, person, clip))
        key = np.char.add(clip[order], np.char.mod("/%d", person[order]))
        cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
        for idx in np.split(order, cuts):
            out.append((frame[idx], scores[idx]))
    return out
