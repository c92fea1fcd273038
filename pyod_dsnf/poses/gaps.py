"""Missing data in tracks: short gaps filled, long gaps split, zero-confidence joints.

Rules (``docs/data.md``):

* A gap of ``g`` missing frames between two posed frames of one track is filled
  by linear interpolation of every coordinate and confidence when
  ``g <= max_gap``; a longer gap splits the track into pieces that keep the
  person id.
* With ``fill_joints=True``, a joint whose confidence is exactly 0 in some
  frames of a piece gets its x and y linearly interpolated in time from the
  frames of that piece where its confidence is positive (held constant beyond
  the first/last such frame); its confidence stays 0 so a model still sees that
  it was not detected. A joint never detected in a piece is left as it is.

Nothing is dropped: the returned :class:`GapReport` counts every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from pyod_dsnf._checks import check_int
from pyod_dsnf.poses.tracks import Clip, Track

__all__ = ["GapReport", "fill_gaps", "interpolate_missing"]


@dataclass
class GapReport:
    """What :func:`fill_gaps` changed.

    Attributes
    ----------
    n_tracks : int
        Tracks read.
    n_pieces : int
        Tracks returned (``n_tracks + n_splits``).
    n_gaps_filled : int
        Gaps of at most ``max_gap`` frames that were interpolated.
    n_frames_filled : int
        Frames created by that interpolation.
    n_splits : int
        Gaps longer than ``max_gap`` at which a track was split.
    n_frames_in_splits : int
        Missing frames inside those long gaps (left unposed).
    n_joints_filled : int
        (frame, joint) entries with zero confidence whose x, y were interpolated.
    n_joints_unfilled : int
        (frame, joint) entries with zero confidence left as they were because
        the joint is never detected in that piece.
    """

    n_tracks: int = 0
    n_pieces: int = 0
    n_gaps_filled: int = 0
    n_frames_filled: int = 0
    n_splits: int = 0
    n_frames_in_splits: int = 0
    n_joints_filled: int = 0
    n_joints_unfilled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


def interpolate_missing(
    values: np.ndarray, valid: np.ndarray, times: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fill invalid entries by linear interpolation in time between valid frames.

    The one place that fills missing joints: :func:`fill_gaps` (tracks) and the
    estimator's input preparation (segments) both call it.

    Parameters
    ----------
    values : ndarray of shape (n, T, V, C)
        Per sequence, frame and joint: C values (e.g. x, y).
    valid : ndarray of shape (n, T, V), bool
        Which (sequence, frame, joint) entries hold real values.
    times : ndarray of shape (T,), optional
        Increasing time (frame index) of each position; None: ``0, 1, ..., T-1``.
        The interpolation weights follow these times, so frames need not be
        consecutive.

    Returns
    -------
    filled : ndarray of shape (n, T, V, C)
        ``values`` where valid; elsewhere the interpolation between the same
        joint's nearest valid frames before and after, held constant beyond the
        first / last valid frame. Entries of a joint with no valid frame in its
        sequence keep their value.
    never : ndarray of shape (n, T, V), bool
        Entries of joints with no valid frame in their sequence.
    """
    t = values.shape[1]
    positions = np.arange(t)[None, :, None]
    prev = np.maximum.accumulate(np.where(valid, positions, -1), axis=1)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(valid, positions, t), 1), axis=1), 1)
    has_prev, has_next = prev >= 0, nxt < t
    prev_i, next_i = np.clip(prev, 0, t - 1), np.clip(nxt, 0, t - 1)
    x_prev = np.take_along_axis(values, prev_i[..., None], axis=1)
    x_next = np.take_along_axis(values, next_i[..., None], axis=1)
    time = np.arange(t) if times is None else np.asarray(times)
    t_prev, t_next = time[prev_i], time[next_i]
    both = has_prev & has_next
    span = np.where(both & (nxt > prev), t_next - t_prev, 1)
    w = np.where(both, (time[None, :, None] - t_prev) / span, 0.0)[..., None]
    never = ~(has_prev | has_next)
    filled = np.where(
        both[..., None],
        x_prev * (1.0 - w) + x_next * w,
        np.where(has_prev[..., None], x_prev, np.where(has_next[..., None], x_next, values)),
    )
    return np.where(valid[..., None], values, filled), never


def _fill_joints(kp: np.ndarray, frames: np.ndarray, report: GapReport) -> np.ndarray:
    zero = kp[:, :, 2] == 0
    if not zero.any():
        return kp
    xy, never = interpolate_missing(kp[None, :, :, :2], ~zero[None], times=frames)
    kp = kp.copy()
    kp[:, :, :2] = xy[0]
    unfilled = int((zero & never[0]).sum())
    report.n_joints_unfilled += unfilled
    report.n_joints_filled += int(zero.sum()) - unfilled
    return kp


def _fill_frames(track: Track, report: GapReport) -> Track:
    frames = track.frames
    full = np.arange(frames[0], frames[-1] + 1, dtype=np.int64)
    if full.shape[0] == frames.shape[0]:
        return track
    d = np.diff(frames)
    report.n_gaps_filled += int((d > 1).sum())
    report.n_frames_filled += int(full.shape[0] - frames.shape[0])
    # left neighbour of each full frame and the interpolation weight towards the right one
    left = np.searchsorted(frames, full, side="right") - 1
    right = np.minimum(left + 1, frames.shape[0] - 1)
    span = np.maximum(frames[right] - frames[left], 1)
    w = ((full - frames[left]) / span).astype(np.float32)
    kp = track.keypoints[left] * (1 - w)[:, None, None] + track.keypoints[right] * w[:, None, None]
    scores = track.scores[left] * (1 - w) + track.scores[right] * w
    filled = ~np.isin(full, frames)
    return Track(track.person, full, kp.astype(np.float32), scores.astype(np.float32), filled)


def _fill_track(track: Track, max_gap: int, fill_joints: bool, report: GapReport) -> list[Track]:
    report.n_tracks += 1
    if len(track) == 0:
        report.n_pieces += 1
        return [track]
    missing = np.diff(track.frames) - 1
    cuts = np.flatnonzero(missing > max_gap) + 1
    report.n_splits += int(cuts.size)
    report.n_frames_in_splits += int(missing[missing > max_gap].sum())
    pieces = []
    for idx in np.split(np.arange(len(track)), cuts):
        kp = track.keypoints[idx]
        if fill_joints:
            kp = _fill_joints(kp, track.frames[idx], report)
        piece = Track(track.person, track.frames[idx], kp, track.scores[idx], track.filled[idx])
        pieces.append(_fill_frames(piece, report))
    report.n_pieces += len(pieces)
    return pieces


def fill_gaps(
    clips: Clip | Sequence[Clip], *, max_gap: int = 2, fill_joints: bool = True
) -> tuple[Clip | list[Clip], GapReport]:
    """Fill short gaps, split tracks at long gaps, interpolate undetected joints.

    Parameters
    ----------
    clips : Clip or sequence of Clip
        Clips as returned by :func:`load_tracks` / :func:`~pyod_dsnf.datasets.load_dataset`.
    max_gap : int, default=2
        Longest run of missing frames that is interpolated; longer runs split
        the track. ``0`` fills nothing and splits at every gap.
    fill_joints : bool, default=True
        Interpolate x, y of joints with zero confidence (see module notes).

    Returns
    -------
    clips : Clip or list of Clip
        New clips (the input is not modified), the same kind as given.
    report : GapReport
        Counts of what was filled and split.

    Examples
    --------
    >>> from pyod_dsnf.datasets import make_pose_tracks
    >>> ds = make_pose_tracks(n_train_clips=2, n_test_clips=1, random_state=0)
    >>> train, report = fill_gaps(ds.train, max_gap=2)
    >>> report.n_pieces == report.n_tracks + report.n_splits
    True
    """
    max_gap = check_int("max_gap", max_gap, 0, expected="a non-negative integer")
    single = isinstance(clips, Clip)
    seq = [clips] if single else list(clips)
    for i, c in enumerate(seq):
        if not isinstance(c, Clip):
            raise TypeError(f"clips must hold Clip objects, got {type(c).__name__} at index {i}")
    report = GapReport()
    out = []
    for clip in seq:
        tracks = [p for t in clip.tracks for p in _fill_track(t, int(max_gap), fill_joints, report)]
        out.append(Clip(clip.clip_id, tracks, clip.path))
    return (out[0] if single else out), report
