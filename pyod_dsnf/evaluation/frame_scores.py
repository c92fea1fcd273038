"""Per-segment anomaly scores back to per-frame scores, one array per clip.

Two protocols (``docs/evaluation.md``), both with higher = more abnormal:

``"field"`` (STG-NF compatible, for comparison with published numbers)
    A segment's score goes to its centre frame only (``start + length // 2``,
    i.e. ``start + T // 2`` for an unpadded segment); a person's frame with
    several centres keeps the highest; persons combine by max. Frames that
    received no score get the lowest score given to any frame of the whole
    test set. Each clip is then smoothed by Gaussian filters with sigma
    1, 2, ..., 6 applied one after the other.

``"person"`` (our default)
    A segment's score goes to every frame it covers; a person's frame covered
    by several segments gets their mean (``reduce="mean"``) or max; persons
    combine by max; frames with no tracked person get the lowest score of the
    test set; optional smoothing with one Gaussian of ``sigma`` frames.

Both protocols look ahead: a frame receives scores of windows that end after it.
``alignment="causal"`` instead gives a segment's score to its last real frame
only (``start + length - 1``): the score of frame t then comes from the window
that ends at t, which is what a live system can compute when frame t arrives
(:mod:`pyod_dsnf.stream` streams exactly these scores). Persons still combine by
max and unscored frames still get the lowest score; smoothing, when asked for
(``sigma``, or ``field_sigmas`` in ``"field"`` mode), is centred and so looks
ahead again: pass ``sigma=None`` or ``field_sigmas=()`` for causal frame scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pyod_dsnf._checks import is_int
from pyod_dsnf.evaluation.smoothing import gaussian_smooth
from pyod_dsnf.poses.windows import Segments

__all__ = ["ALIGNMENTS", "FIELD_SIGMAS", "MODES", "frame_scores"]

MODES = ("field", "person")
ALIGNMENTS = ("centre", "causal")
FIELD_SIGMAS = (1, 2, 3, 4, 5, 6)  # STG-NF: for sig in range(1, 7): gaussian_filter1d(sig)


def _lengths(n_frames: Mapping[str, int | np.ndarray]) -> dict[str, int]:
    out = {}
    for cid, value in n_frames.items():
        n = np.asarray(value).shape[0] if np.ndim(value) else value
        if not is_int(n) or n < 0:
            raise ValueError(
                f"n_frames[{cid!r}] must be a frame count or a mask array, got {value!r:.60}"
            )
        out[str(cid)] = int(n)
    return out


def _check_scores(segment_scores: np.ndarray, segments: Segments) -> np.ndarray:
    if not isinstance(segments, Segments):
        raise TypeError(f"segments must be a Segments object, got {type(segments).__name__}")
    s = np.asarray(segment_scores, dtype=np.float64)
    if s.shape != (len(segments),):
        raise ValueError(
            f"segment_scores has shape {s.shape} but there are {len(segments)} segments; "
            "expected one score per segment"
        )
    bad = ~np.isfinite(s)
    if bad.any():
        raise ValueError(
            f"segment_scores holds {int(bad.sum())} non-finite value(s), e.g. at index "
            f"{int(np.flatnonzero(bad)[0])}"
        )
    return s


def map_scores(
    segment_scores: np.ndarray,
    segments: Segments,
    n_frames: Mapping[str, int | np.ndarray],
    *,
    mode: str = "person",
    reduce: str = "mean",
    sigma: float | None = None,
    field_sigmas: Sequence[float] = FIELD_SIGMAS,
    alignment: str = "centre",
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`frame_scores` plus, per clip, which frames received a segment score."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if reduce not in ("mean", "max"):
        raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}")
    if alignment not in ALIGNMENTS:
        raise ValueError(f"alignment must be one of {ALIGNMENTS}, got {alignment!r}")
    if sigma is not None and (not np.isfinite(sigma) or sigma < 0):
        raise ValueError(f"sigma must be None or a number >= 0, got {sigma!r}")
    scores = _check_scores(segment_scores, segments)
    lengths = _lengths(n_frames)
    ids = list(lengths)
    starts = np.cumsum([0] + [lengths[c] for c in ids])[:-1].tolist()
    offset = dict(zip(ids, starts, strict=True))
    total = int(sum(lengths.values()))

    uniq, inv = np.unique(segments.clip, return_inverse=True)
    unknown = [str(c) for c in uniq if str(c) not in lengths]
    if unknown:
        raise ValueError(
            f"segments come from clip(s) {unknown[:5]} that n_frames does not list; "
            "pass a frame count (or mask) for every clip"
        )
    clip_off = np.array([offset[str(c)] for c in uniq], dtype=np.int64)[inv]
    clip_len = np.array([lengths[str(c)] for c in uniq], dtype=np.int64)[inv]
    length = segments.length
    if alignment == "causal":
        seg_idx = np.arange(len(segments))
        frame = segments.start + length - 1
    elif mode == "field":
        seg_idx = np.arange(len(segments))
        frame = segments.start + length // 2
    else:
        seg_idx = np.repeat(np.arange(len(segments)), length)
        first = np.cumsum(length) - length
        frame = segments.start[seg_idx] + (np.arange(seg_idx.shape[0]) - first[seg_idx])
    over = frame >= clip_len[seg_idx]
    if over.any():
        i = int(seg_idx[np.flatnonzero(over)[0]])
        raise ValueError(
            f"segment {i} (clip {segments.clip[i]!r}, start {segments.start[i]}) reaches frame "
            f"{int(frame[np.flatnonzero(over)[0]])} but n_frames gives the clip "
            f"{int(clip_len[i])} frames"
        )
    gframe = clip_off[seg_idx] + frame
    _, pidx = np.unique(segments.person, return_inverse=True)
    key = pidx[seg_idx].astype(np.int64) * max(total, 1) + gframe
    ukey, kinv = np.unique(key, return_inverse=True)
    vals = scores[seg_idx]
    if mode == "person" and reduce == "mean":
        per = np.bincount(kinv, weights=vals, minlength=ukey.shape[0]) / np.bincount(
            kinv, minlength=ukey.shape[0]
        )
    else:
        per = np.full(ukey.shape[0], -np.inf)
        np.maximum.at(per, kinv, vals)
    flat = np.full(total, -np.inf)
    np.maximum.at(flat, ukey % max(total, 1), per)
    scored = np.isfinite(flat)
    flat[~scored] = flat[scored].min() if scored.any() else 0.0

    out, out_scored = {}, {}
    for cid in ids:
        a, n = offset[cid], lengths[cid]
        clip_scores = flat[a : a + n].copy()
        if mode == "field":
            for sig in field_sigmas:
                clip_scores = gaussian_smooth(clip_scores, sig)
        elif sigma:
            clip_scores = gaussian_smooth(clip_scores, sigma)
        out[cid] = clip_scores
        out_scored[cid] = scored[a : a + n].copy()
    return out, out_scored


def frame_scores(
    segment_scores: np.ndarray,
    segments: Segments,
    n_frames: Mapping[str, int | np.ndarray],
    *,
    mode: str = "person",
    reduce: str = "mean",
    sigma: float | None = None,
    field_sigmas: Sequence[float] = FIELD_SIGMAS,
    alignment: str = "centre",
) -> dict[str, np.ndarray]:
    """Map per-segment anomaly scores to per-frame scores, one array per clip.

    Parameters
    ----------
    segment_scores : ndarray of shape (n_segments,)
        Anomaly score of each segment (higher = more abnormal), e.g. a
        detector's ``decision_function(segments.X)``. Must be finite.
    segments : Segments
        The segments the scores belong to (:func:`pyod_dsnf.poses.segment_tracks`).
    n_frames : mapping of str to int or ndarray
        Every clip to score: its frame count, or its frame mask (its length
        is used). Clips without segments get a constant score.
    mode : {"person", "field"}, default="person"
        Mapping protocol; see the module docstring and ``docs/evaluation.md``.
    reduce : {"mean", "max"}, default="mean"
        ``"person"`` mode: how the segments covering one frame of one person
        combine.
    sigma : float, optional
        ``"person"`` mode: one Gaussian smoothing of this many frames.
    field_sigmas : sequence of float, default=(1, 2, 3, 4, 5, 6)
        ``"field"`` mode: the cascade of Gaussian smoothings.
    alignment : {"centre", "causal"}, default="centre"
        Which frame(s) a segment's score goes to. ``"centre"``: the mode's
        rule above (the centre frame, or every covered frame), which uses
        windows that end after the frame. ``"causal"``: only the segment's last
        real frame, so frame t is scored by the window ending at t (the live
        score of :class:`pyod_dsnf.stream.StreamScorer`); see the module notes.

    Returns
    -------
    dict of str to ndarray
        Per clip (in the order of ``n_frames``), float64 scores of length
        ``n_frames[clip]``, all finite.

    Examples
    --------
    >>> import numpy as np
    >>> from pyod_dsnf.datasets import make_pose_tracks
    >>> from pyod_dsnf.poses import segment_tracks
    >>> ds = make_pose_tracks(n_train_clips=1, n_test_clips=2, random_state=0)
    >>> seg = segment_tracks(ds.test, seg_len=12, pad_short=True)
    >>> fs = frame_scores(np.zeros(len(seg)), seg, ds.masks)
    >>> all(fs[c].shape == ds.masks[c].shape for c in ds.masks)
    True
    """
    return map_scores(
        segment_scores,
        segments,
        n_frames,
        mode=mode,
        reduce=reduce,
        sigma=sigma,
        field_sigmas=field_sigmas,
        alignment=alignment,
    )[0]
