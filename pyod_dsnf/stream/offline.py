"""The offline counterpart of the stream: causal scores of recorded clips in one batch.

:func:`causal_segments` cuts clips exactly as :class:`~pyod_dsnf.stream.StreamScorer`
sees them (short gaps filled by :func:`~pyod_dsnf.poses.fill_gaps` without
whole-track joint filling, no padding, windows ending at every frame);
:func:`causal_scores` scores them; with ``frame_scores(..., alignment="causal")``
the per-frame scores equal what streaming the clips frame by frame gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pyod_dsnf.poses import Clip, Segments, fill_gaps, segment_tracks

__all__ = ["causal_scores", "causal_segments", "causal_tracks"]


def causal_segments(
    clips: Clip | Sequence[Clip], seg_len: int, *, max_gap: int = 2, stride: int = 1
) -> Segments:
    """Windows of the live scorer: ``seg_len`` consecutive frames ending at each scored frame.

    Parameters
    ----------
    clips : Clip or sequence of Clip
    seg_len : int
        Window length T (the detector's ``input_shape_[0]``).
    max_gap : int, default=2
        Gaps of at most this many frames are interpolated.
    stride : int, default=1
        As ``StreamScorer(stride=...)``.

    Returns
    -------
    Segments
        The windows; ``start + seg_len - 1`` is the frame each one scores.
        Windows without a single joint of confidence > 0 are dropped (the
        stream counts them as ``n_unscorable``), as are none otherwise.
    """
    filled, _ = fill_gaps(clips, max_gap=max_gap, fill_joints=False)
    seg = segment_tracks(filled, seg_len=seg_len, stride=stride)
    keep = (seg.X[..., 2] > 0).any(axis=(1, 2))
    if keep.all():
        return seg
    return Segments(seg.X[keep], seg.clip[keep], seg.person[keep], seg.start[keep],
                    seg.length[keep], seg.seg_len, dict(seg.counts))  # fmt: skip


def causal_scores(
    detector: Any, clips: Clip | Sequence[Clip], *, max_gap: int = 2, stride: int = 1
) -> tuple[Segments, np.ndarray]:
    """Causal windows of ``clips`` and the detector's scores of them.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted.
    clips : Clip or sequence of Clip
    max_gap, stride
        As :func:`causal_segments`.

    Returns
    -------
    segments : Segments
    scores : ndarray of shape (n_segments,)
        ``detector.decision_function`` of the windows.
    """
    t, _, c = (int(s) for s in detector.input_shape_)
    seg = causal_segments(clips, t, max_gap=max_gap, stride=stride)
    scores = detector.decision_function(seg.X[..., :c]) if len(seg) else np.zeros(0)
    return seg, scores


def causal_tracks(
    detector: Any, clips: Clip | Sequence[Clip], *, max_gap: int = 2, stride: int = 1
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Per (clip, person) scored frames and scores, for :func:`budget_threshold`.

    Returns
    -------
    tracks : list of (frames, scores)
    n_frames : int
        Frames of the clips (each up to its last posed frame).
    """
    seq = [clips] if isinstance(clips, Clip) else list(clips)
    seg, scores = causal_scores(detector, seq, max_gap=max_gap, stride=stride)
    frame = seg.start + seg.length - 1
    out = []
    if len(seg):
        order = np.lexsort((frame, seg.person, seg.clip))
        key = np.char.add(seg.clip[order], np.char.mod("/%d", seg.person[order]))
        cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
        for idx in np.split(order, cuts):
            out.append((frame[idx], scores[idx]))
    return out, int(sum(c.last_frame + 1 for c in seq))
