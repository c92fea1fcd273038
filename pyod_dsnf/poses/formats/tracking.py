"""Person ids for formats without them, from the Norfair multi-object tracker.

Norfair (``pip install 'pyod-dsnf[track]'``) tracks each person's keypoints with
a Kalman filter per point and matches detections to tracks by keypoint
voting: a detection and a track match when enough of their confident
keypoints lie within ``keypoint_distance`` pixels of each other. The choice
against box trackers (ByteTrack, OC-SORT) is explained in ``docs/data.md``.
"""

from __future__ import annotations

import logging

import numpy as np

from pyod_dsnf._checks import check_int, is_int

__all__ = ["TRACK_EXTRA_HINT", "track_keypoints"]

TRACK_EXTRA_HINT = (
    "assigning person ids needs the Norfair tracker: pip install 'pyod-dsnf[track]' "
    "(or pip install norfair)"
)


def _import_norfair():
    try:
        import norfair
        from norfair.distances import create_keypoints_voting_distance
    except ImportError as exc:
        raise ImportError(f"{TRACK_EXTRA_HINT} ({exc})") from None
    return norfair, create_keypoints_voting_distance


def track_keypoints(
    frames: np.ndarray,
    keypoints: np.ndarray,
    *,
    keypoint_distance: float | None = None,
    min_confidence: float = 0.1,
    match_fraction: float = 0.25,
    max_age: int = 30,
) -> np.ndarray:
    """Assign a person id to every detection by tracking keypoints over frames.

    Parameters
    ----------
    frames : ndarray of shape (n,), int
        Frame of each detection, ascending (ties: several people in a frame).
    keypoints : ndarray of shape (n, V, 3)
        ``(x, y, confidence)`` in pixels.
    keypoint_distance : float or None, default=None
        Pixels within which a keypoint votes for a match. None: 30 % of the
        median person height (the vertical extent of confident keypoints) in
        the clip, at least 5 px.
    min_confidence : float, default=0.1
        Keypoints below this confidence neither vote nor update the track.
    match_fraction : float, default=0.25
        Share of the V keypoints that must vote for a detection to join a track.
    max_age : int, default=30
        Frames a track survives without a matching detection (Norfair's
        ``hit_counter_max``; 1 s at 30 fps); a person unseen for longer gets a
        new id.

    Returns
    -------
    ndarray of shape (n,), int64
        Person ids starting at 0, in order of first appearance.

    Raises
    ------
    ImportError
        When Norfair is not installed; the message names the ``[track]`` extra.
    """
    norfair, voting = _import_norfair()
    frames = np.asarray(frames, dtype=np.int64)
    kp = np.asarray(keypoints, dtype=np.float64)
    n = frames.shape[0]
    if kp.ndim != 3 or kp.shape[0] != n or kp.shape[2] != 3:
        raise ValueError(f"keypoints must have shape ({n}, V, 3), got {kp.shape}")
    if n and (np.diff(frames) < 0).any():
        raise ValueError("frames must be in ascending order")
    if not 0 < match_fraction <= 1:
        raise ValueError(f"match_fraction must lie in (0, 1], got {match_fraction!r}")
    check_int("max_age", max_age, 1)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    if keypoint_distance is None:
        conf = kp[:, :, 2] >= min_confidence
        y = np.where(conf, kp[:, :, 1], np.nan)
        with np.errstate(invalid="ignore"), _quiet_warnings():
            heights = np.nanmax(y, axis=1) - np.nanmin(y, axis=1)
        heights = heights[np.isfinite(heights)]
        keypoint_distance = max(5.0, 0.3 * float(np.median(heights))) if heights.size else 20.0
    n_joints = kp.shape[1]
    # Norfair logs a warning on every Tracker built with a non-vectorised distance
    logging.getLogger().disabled, was = True, logging.getLogger().disabled
    try:
        tracker = norfair.Tracker(
            distance_function=voting(float(keypoint_distance), float(min_confidence)),
            # the voting distance is 1 / (1 + votes): match when votes >= the required count
            distance_threshold=1.0 / (1.0 + max(1, round(match_fraction * n_joints))) + 1e-9,
            detection_threshold=float(min_confidence),
            hit_counter_max=int(max_age),
            initialization_delay=0,
            past_detections_length=0,
        )
    finally:
        logging.getLogger().disabled = was
    ids: dict[int, int] = {}
    cuts = np.flatnonzero(np.diff(frames)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [n]])
    prev = None
    for a, b in zip(starts, ends, strict=True):
        frame = int(frames[a])
        gap = 1 if prev is None else frame - prev
        prev = frame
        dets = [
            norfair.Detection(points=kp[i, :, :2].copy(), scores=kp[i, :, 2].copy(), data=int(i))
            for i in range(a, b)
        ]
        # frames without detections age the tracks (past max_age + 1 every track is gone)
        for _ in range(min(gap - 1, int(max_age) + 1)):
            tracker.update(detections=[])
        objs = tracker.update(detections=dets)
        for obj in objs:
            last = obj.last_detection
            i = getattr(last, "data", None)
            if not (is_int(i) and a <= i < b and last is dets[i - a]):
                continue  # not matched in this frame
            if obj.id not in ids:
                ids[obj.id] = len(ids)
            out[last.data] = ids[obj.id]
        missing = np.flatnonzero(out[a:b] < 0)
        if missing.size:  # e.g. a detection with no keypoint above min_confidence
            for i in a + missing:
                out[i] = len(ids)
                ids[-1 - int(i)] = len(ids)
    return out


class _quiet_warnings:
    """Silence numpy's "All-NaN slice" warning for poses with no confident keypoint."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
