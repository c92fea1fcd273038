"""The causal windowing recipe: the windows a live scorer sees, each ending at the frame it scores.

One definition, used twice: :class:`~pyod_dsnf.stream.StreamScorer` keeps the last
``seg_len`` poses of each person in a ring buffer and takes its windows through
:func:`causal_due` and :func:`causal_window`; :func:`causal_segments` (and
``pipeline.cut(clips, Windowing.causal(...))``) cuts the same windows from recorded clips.
The rules:

* gaps of up to ``max_gap`` frames are interpolated by :func:`~pyod_dsnf.poses.fill_gaps`
  with ``fill_joints=False`` (whole-track joint filling would look ahead); a longer gap
  starts a new run;
* counting a run's frames 1, 2, ..., the window ending at frame ``n`` is scored when
  ``n >= seg_len`` and ``(n - seg_len) % stride == 0``, and with ``warm_up`` also when
  ``n < seg_len`` and ``(n - 1) % stride == 0``; a warm-up window repeats the run's first
  pose where it has no history;
* windows without a single joint of confidence > 0 are not scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyod_dsnf._checks import check_int
from pyod_dsnf.poses.gaps import GapReport, fill_gaps
from pyod_dsnf.poses.tracks import Clip
from pyod_dsnf.poses.windows import Segments

__all__ = ["causal_due", "causal_segments", "causal_window", "causal_windows", "fill_causal"]


def causal_due(
    count: np.ndarray, seg_len: int, stride: int = 1, warm_up: bool = True
) -> np.ndarray:
    """Which run lengths ``count`` (frames so far, >= 1) end a window to score; bool array."""
    n = np.asarray(count, dtype=np.int64)
    due = (n >= seg_len) & ((n - seg_len) % stride == 0)
    if warm_up:
        due |= (n >= 1) & (n < seg_len) & ((n - 1) % stride == 0)
    return due


def causal_window(count: np.ndarray, seg_len: int) -> np.ndarray:
    """Frames ``(len(count), seg_len)`` of the window ending at each run's ``count``-th frame.

    As positions 0 .. count - 1 in the run; a window with less history than
    ``seg_len`` starts with position 0 repeated. A ring buffer of ``seg_len``
    poses holding frame ``i`` at ``i % seg_len`` reads the window at these
    positions ``% seg_len``.
    """
    n = np.asarray(count, dtype=np.int64).reshape(-1)
    return np.maximum(np.arange(seg_len)[None, :] + n[:, None] - seg_len, 0)


def fill_causal(clips: Clip | Sequence[Clip], max_gap: int) -> tuple[list[Clip], GapReport]:
    """The recipe's gap filling: short gaps interpolated, no whole-track joint filling."""
    filled, report = fill_gaps(clips, max_gap=max_gap, fill_joints=False)
    return ([filled] if isinstance(filled, Clip) else list(filled)), report


def causal_windows(
    clips: Sequence[Clip], seg_len: int, *, stride: int = 1, warm_up: bool = True
) -> Segments:
    """The causal windows of clips whose gaps are already filled (:func:`fill_causal`).

    Returns
    -------
    Segments
        Per run, in time order; ``start + length - 1`` is the frame each window
        scores and ``length`` its real frames. ``counts``: ``n_runs`` and
        ``n_unscorable`` (windows dropped for want of a detected joint).
    """
    seg_len = check_int("seg_len", seg_len, 1)
    stride = check_int("stride", stride, 1)
    xs, clip_ids, person, start, length = [], [], [], [], []
    n_runs = 0
    n_joints = None
    for c in clips:
        for t in c.tracks:
            if len(t) == 0:
                continue
            n_joints = t.n_joints if n_joints is None else n_joints
            cuts = np.flatnonzero(np.diff(t.frames) != 1) + 1
            for run in np.split(np.arange(len(t)), cuts):
                n_runs += 1
                count = np.arange(1, len(run) + 1)
                count = count[causal_due(count, seg_len, stride, warm_up)]
                if not count.size:
                    continue
                xs.append(t.keypoints[run[causal_window(count, seg_len)]])
                clip_ids += [c.clip_id] * count.size
                person += [t.person] * count.size
                start.append(int(t.frames[run[0]]) + np.maximum(count - seg_len, 0))
                length.append(np.minimum(count, seg_len))
    X = (np.concatenate(xs) if xs
         else np.zeros((0, seg_len, n_joints or 17, 3), np.float32))  # fmt: skip
    keep = (X[..., 2] > 0).any(axis=(1, 2))
    width = max((len(c) for c in clip_ids), default=1)

    def cat(parts: list) -> np.ndarray:
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    return Segments(
        X=np.ascontiguousarray(X[keep], dtype=np.float32),
        clip=np.asarray(clip_ids, dtype=f"U{width}")[keep],
        person=np.asarray(person, dtype=np.int64)[keep],
        start=cat(start)[keep],
        length=cat(length)[keep],
        seg_len=seg_len,
        counts={"n_runs": n_runs, "n_unscorable": int((~keep).sum())},
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
    seq, _ = fill_causal(clips, max_gap)
    return causal_windows(seq, seg_len, stride=stride, warm_up=warm_up)
