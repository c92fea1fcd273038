"""Sliding windows over pose tracks: the segments a detector scores.

A window never crosses a missing frame: each track is cut into runs of
consecutive frames (fill short gaps first with :func:`pyod_dsnf.poses.fill_gaps`
if you want them bridged) and windows of ``seg_len`` frames slide over every run
with ``stride``. Runs shorter than ``seg_len`` are skipped (counted) or, with
``pad_short=True``, become one window padded by repeating their last frame.
See ``docs/data.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from pyod_dsnf._checks import check_int
from pyod_dsnf.poses.tracks import Clip

__all__ = ["Segments", "segment_tracks"]


@dataclass
class Segments:
    """Windows cut from tracks, with where each came from.

    Attributes
    ----------
    X : ndarray of shape (n_segments, seg_len, V, 3), float32
        ``(x, y, confidence)`` in pixels, ready for a detector's ``fit`` /
        ``decision_function``.
    clip : ndarray of shape (n_segments,), str
        Clip id of each segment.
    person : ndarray of shape (n_segments,), int64
        Person id of each segment.
    start : ndarray of shape (n_segments,), int64
        Frame index of the segment's first frame.
    length : ndarray of shape (n_segments,), int64
        Real frames the segment covers: ``seg_len``, or less for a padded short
        run (frames ``start .. start + length - 1``).
    seg_len : int
        Window length T.
    counts : dict of str to int
        ``n_runs`` (runs of consecutive frames), ``n_short_runs`` (runs shorter
        than ``seg_len``), ``n_short_padded``, ``n_short_skipped`` and
        ``n_frames_skipped`` (person-frames in skipped runs).
    """

    X: np.ndarray
    clip: np.ndarray
    person: np.ndarray
    start: np.ndarray
    length: np.ndarray
    seg_len: int
    counts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])


def segment_tracks(
    clips: Clip | Sequence[Clip],
    seg_len: int = 24,
    stride: int = 1,
    *,
    pad_short: bool = False,
    cover_tail: bool = False,
) -> Segments:
    """Cut every track into windows of ``seg_len`` consecutive frames.

    Parameters
    ----------
    clips : Clip or sequence of Clip
        Clips from :func:`load_tracks`, :func:`~pyod_dsnf.datasets.load_dataset` or
        :func:`fill_gaps`.
    seg_len : int, default=24
        Window length T in frames.
    stride : int, default=1
        Step between window starts within a run. Test data is usually cut
        with stride 1; training data with a larger stride (STG-NF uses 6 on
        ShanghaiTech) to save time.
    pad_short : bool, default=False
        Runs shorter than ``seg_len`` become one window whose missing tail
        repeats the run's last frame (edge replication) instead of being
        skipped. Use it for the "person" evaluation so every tracked frame is
        scored.
    cover_tail : bool, default=False
        When ``stride > 1`` leaves a run's last frames uncovered, add one more
        window ending at the run's last frame.

    Returns
    -------
    Segments

    Examples
    --------
    >>> from pyod_dsnf.datasets import make_pose_tracks
    >>> ds = make_pose_tracks(n_train_clips=2, n_test_clips=1, random_state=0)
    >>> seg = segment_tracks(ds.train, seg_len=12, stride=6)
    >>> seg.X.shape[1:]
    (12, 17, 3)
    """
    seg_len = check_int("seg_len", seg_len, 1)
    stride = check_int("stride", stride, 1)
    seq = [clips] if isinstance(clips, Clip) else list(clips)
    blocks, run_clip, run_person, run_first, run_len = [], [], [], [], []
    n_joints = None
    for i, clip in enumerate(seq):
        if not isinstance(clip, Clip):
            raise TypeError(f"clips must hold Clip objects, got {type(clip).__name__} at index {i}")
        for t in clip.tracks:
            if len(t) == 0:
                continue
            if n_joints is None:
                n_joints = t.n_joints
            elif t.n_joints != n_joints:
                raise ValueError(
                    f"clip {clip.clip_id!r} person {t.person} has {t.n_joints} joints but earlier "
                    f"tracks have {n_joints}; load every clip with the same layout"
                )
            cuts = np.flatnonzero(np.diff(t.frames) != 1) + 1
            bounds = np.concatenate([[0], cuts, [len(t)]])
            blocks.append(t.keypoints)
            for a, b in pairwise(bounds):
                run_clip.append(clip.clip_id)
                run_person.append(t.person)
                run_first.append(t.frames[a])
                run_len.append(b - a)
    n_runs = len(run_len)
    run_len_a = np.asarray(run_len, dtype=np.int64)
    # offset of each run in the concatenation of all keypoints
    run_off = np.cumsum(run_len_a) - run_len_a
    short = run_len_a < seg_len
    counts = {
        "n_runs": n_runs,
        "n_short_runs": int(short.sum()),
        "n_short_padded": int(short.sum()) if pad_short else 0,
        "n_short_skipped": 0 if pad_short else int(short.sum()),
        "n_frames_skipped": 0 if pad_short else int(run_len_a[short].sum()),
    }
    # windows per run: starts at 0, stride, ... <= len - seg_len (+ a tail window)
    n_win = np.where(short, 1 if pad_short else 0, (run_len_a - seg_len) // stride + 1)
    n_win = np.maximum(n_win, 0)
    last_start = (n_win - 1) * stride
    tail = (~short) & cover_tail & (last_start != run_len_a - seg_len)
    n_win_total = n_win + tail
    run_of_win = np.repeat(np.arange(n_runs), n_win_total)
    first_win = np.cumsum(n_win_total) - n_win_total
    k = np.arange(run_of_win.shape[0]) - np.repeat(first_win, n_win_total)
    local = k * stride
    is_tail = tail[run_of_win] & (k == n_win[run_of_win])
    local = np.where(is_tail, run_len_a[run_of_win] - seg_len, local)
    length = np.minimum(run_len_a[run_of_win], seg_len)
    if run_of_win.shape[0]:
        kp = np.concatenate(blocks, axis=0)
        steps = np.minimum(np.arange(seg_len)[None, :], (length - 1)[:, None])
        idx = (run_off[run_of_win] + local)[:, None] + steps
        X = kp[idx]
    else:
        X = np.zeros((0, seg_len, n_joints or 0, 3), dtype=np.float32)
    width = max((len(c) for c in run_clip), default=1)
    return Segments(
        X=np.ascontiguousarray(X, dtype=np.float32),
        clip=np.asarray(run_clip, dtype=f"U{width}")[run_of_win],
        person=np.asarray(run_person, dtype=np.int64)[run_of_win],
        start=(np.asarray(run_first, dtype=np.int64)[run_of_win] + local).astype(np.int64),
        length=length.astype(np.int64),
        seg_len=seg_len,
        counts=counts,
    )
