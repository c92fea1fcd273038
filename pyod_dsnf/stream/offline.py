"""The offline counterpart of the stream: causal scores of recorded clips in one batch.

:func:`causal_segments` cuts clips exactly as :class:`~pyod_dsnf.stream.StreamScorer`
sees them (short gaps filled by :func:`~pyod_dsnf.poses.fill_gaps` without
whole-track joint filling, no padding, windows ending at every frame);
:func:`causal_scores` scores them; with ``frame_scores(..., alignment="causal")``
the per-frame scores equal what streaming the clips frame by frame gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyod_dsnf.poses import Clip, Segments, fill_gaps, segment_tracks

__all__ = ["causal_scores", "causal_segments", "causal_tracks", "group_tracks"]


def _warm_up_windows(clips: list[Clip], seg_len: int, stride: int) -> Segments:
    """Each run's windows ending at its frames 0, stride, ... < seg_len - 1, start-padded."""
    xs, clip, person, start, length = [], [], [], [], []
    ar = np.arange(seg_len)
    for c in clips:
        for t in c.tracks:
            if len(t) == 0:
                continue
            cuts = np.flatnonzero(np.diff(t.frames) != 1) + 1
            for run in np.split(np.arange(len(t)), cuts):
                ends = np.arange(0, min(len(run), seg_len - 1), stride)
                if not ends.size:
                    continue
                steps = np.maximum(ar[None, :] - (seg_len - 1 - ends[:, None]), 0)
                xs.append(t.keypoints[run][steps])
                clip += [c.clip_id] * ends.size
                person += [t.person] * ends.size
                start += [int(t.frames[run[0]])] * ends.size
                length.append(ends + 1)
    n_joints = clips[0].tracks[0].n_joints if clips and clips[0].tracks else 17
    return Segments(
        X=np.concatenate(xs) if xs else np.zeros((0, seg_len, n_joints, 3), np.float32),
        clip=np.asarray(clip, dtype=str),
        person=np.asarray(person, dtype=np.int64),
        start=np.asarray(start, dtype=np.int64),
        length=np.concatenate(length).astype(np.int64) if length else np.zeros(0, np.int64),
        seg_len=seg_len,
    )


def causal_segments(
    clips: Clip | Sequence[Clip],
    seg_len: int,
    *,
    max_gap: int = 2,
    stride: int = 1,
    warm_up: bool = True,
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
    warm_up : bool, default=True
        As ``StreamScorer(warm_up=...)``: add windows ending at each run's
        first ``seg_len - 1`` frames (0, stride, ...), their missing beginning
        filled with the run's first pose; ``length`` counts their real frames.

    Returns
    -------
    Segments
        The windows; ``start + length - 1`` is the frame each one scores
        (``frame_scores(..., alignment="causal")``). Windows without a single
        joint of confidence > 0 are dropped, as the stream does (it counts
        them as ``n_unscorable``).
    """
    filled, _ = fill_gaps(clips, max_gap=max_gap, fill_joints=False)
    seq = [filled] if isinstance(filled, Clip) else filled
    seg = segment_tracks(seq, seg_len=seg_len, stride=stride)
    if warm_up:
        w = _warm_up_windows(seq, seg_len, stride)
        if len(w):
            width = max(seg.clip.dtype.itemsize, w.clip.dtype.itemsize) // 4 or 1
            seg = Segments(
                X=np.concatenate([seg.X, w.X]),
                clip=np.concatenate([seg.clip, w.clip]).astype(f"U{width}"),
                person=np.concatenate([seg.person, w.person]),
                start=np.concatenate([seg.start, w.start]),
                length=np.concatenate([seg.length, w.length]),
                seg_len=seg_len,
                counts=dict(seg.counts),
            )
    keep = (seg.X[..., 2] > 0).any(axis=(1, 2))
    if keep.all():
        return seg
    return Segments(seg.X[keep], seg.clip[keep], seg.person[keep], seg.start[keep],
                    seg.length[keep], seg.seg_len, dict(seg.counts))  # fmt: skip


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
    t, _, c = (int(s) for s in detector.input_shape_)
    seg = causal_segments(clips, t, max_gap=max_gap, stride=stride, warm_up=warm_up)
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
    (e.g. :class:`~pyod_dsnf.stream.calibration.AgeMatch`) maps the scores of
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
