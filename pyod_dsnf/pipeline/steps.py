"""One way from pose files to frame metrics, each step once.

::

    load        folder -> list[Clip]                        (any registered pose format)
    cut         list[Clip] + Windowing -> SegmentSet        (fill gaps, then cut windows)
    score       detector + SegmentSet -> SegmentScores      (+inf ranked most abnormal)
    to_frames   SegmentScores (+ clip lengths) -> FrameScores   (field or person mapping)
    metrics     FrameScores + masks -> FrameMetrics         (every figure names its protocol)

``pyod-dsnf fit`` / ``score`` / ``evaluate`` (:mod:`pyod_dsnf.pipeline.files`), the benchmark,
the demo and the method runner (:mod:`pyod_dsnf.experiments.compare`) call these steps and nothing
else to get from tracks to numbers. Each step also works on one clip or one track (the
live scorer cuts and maps per track). :func:`pyod_dsnf.pipeline.parallel.score_sources` runs
load + cut + score clip by clip in parallel processes. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyod_dsnf._infinite import rank_safe
from pyod_dsnf.evaluation import MODES, pad_to_masks
from pyod_dsnf.evaluation.frame_scores import map_scores
from pyod_dsnf.evaluation.metrics import FrameMetrics
from pyod_dsnf.poses import (
    Clip,
    GapReport,
    Segments,
    fill_gaps,
    load_folder,
    segment_tracks,
    tracked_frames,
)
from pyod_dsnf.poses.causal import causal_windows, fill_causal

__all__ = [
    "FrameMetrics",
    "FrameScores",
    "SegmentScores",
    "SegmentSet",
    "Windowing",
    "cut",
    "load",
    "metrics",
    "rank_safe",
    "score",
    "segment_labels",
    "segment_scores",
    "to_frames",
]

#: The windowing recipes of :class:`Windowing`.
PROTOCOLS = ("train", *MODES, "causal")


# --------------------------------------------------------------------------- cut
@dataclass(frozen=True)
class Windowing:
    """How tracks become segments: the one definition of each protocol's recipe.

    Attributes
    ----------
    protocol : {"train", "field", "person", "causal"}
        ``"train"``: gaps filled, windows with ``stride``; ``"field"``: STG-NF's raw
        tracks, stride 1, short runs skipped; ``"person"``: gaps filled, stride 1,
        short runs padded so every tracked frame is scored (docs/evaluation.md);
        ``"causal"``: the live scorer's windows, each ending at the frame it scores
        (:mod:`pyod_dsnf.poses.causal`).
    seg_len : int
        Window length T.
    stride : int
        Step between windows (1 for the test protocols).
    max_gap : int or None
        Gaps of up to this many frames are filled; None reads the raw tracks.
    pad_short : bool
        Runs shorter than ``seg_len`` become one padded window.
    warm_up : bool
        Causal protocol only: also windows ending at a run's first ``seg_len - 1``
        frames, their missing history repeating the run's first pose.
    """

    protocol: str
    seg_len: int
    stride: int = 1
    max_gap: int | None = 2
    pad_short: bool = False
    warm_up: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")

    @classmethod
    def train(cls, seg_len: int = 24, stride: int = 6, max_gap: int = 2) -> Windowing:
        """Training windows: gaps of up to ``max_gap`` frames filled, windows every ``stride``."""
        return cls("train", seg_len, stride, max_gap, False)

    @classmethod
    def test(cls, mode: str, seg_len: int = 24, max_gap: int = 2) -> Windowing:
        """Test windows for frame mapping ``mode`` ("field" or "person"), stride 1."""
        if mode == "field":
            return cls("field", seg_len, 1, None, False)
        if mode == "person":
            return cls("person", seg_len, 1, max_gap, True)
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")

    @classmethod
    def causal(
        cls, seg_len: int = 24, *, stride: int = 1, max_gap: int = 2, warm_up: bool = True
    ) -> Windowing:
        """The live scorer's windows (:class:`~pyod_dsnf.stream.StreamScorer`), cut offline."""
        return cls("causal", seg_len, stride, max_gap, False, bool(warm_up))


@dataclass
class SegmentSet:
    """Output of :func:`cut`: the segments and the clips they were cut from.

    Attributes
    ----------
    clips : list of Clip
        The clips after gap filling (raw for the field protocol): the frames they
        hold are the tracked frames.
    segments : Segments
        The windows, ``segments.X`` of shape (n, T, V, 3) float32.
    windowing : Windowing
        The recipe used.
    gaps : GapReport or None
        What gap filling changed (None when the tracks were used raw).
    """

    clips: list[Clip]
    segments: Segments
    windowing: Windowing
    gaps: GapReport | None = None

    def __len__(self) -> int:
        return len(self.segments)


#: Load step: :func:`pyod_dsnf.poses.load_folder`, the one folder loader, under its step name.
load = load_folder


def cut(clips: Clip | Sequence[Clip], windowing: Windowing) -> SegmentSet:
    """Fill gaps (unless ``windowing.max_gap`` is None) and cut windows.

    Parameters
    ----------
    clips : Clip or sequence of Clip
        One clip or several (one clip holding one track works too).
    windowing : Windowing
        :meth:`Windowing.train`, :meth:`Windowing.test` or :meth:`Windowing.causal`.

    Returns
    -------
    SegmentSet
    """
    if not isinstance(windowing, Windowing):
        raise TypeError(f"windowing must be a Windowing, got {type(windowing).__name__}")
    seq = [clips] if isinstance(clips, Clip) else list(clips)
    report = None
    if windowing.protocol == "causal":
        seq, report = fill_causal(seq, windowing.max_gap or 0)
        seg = causal_windows(seq, windowing.seg_len, stride=windowing.stride,
                             warm_up=windowing.warm_up)  # fmt: skip
        return SegmentSet(clips=seq, segments=seg, windowing=windowing, gaps=report)
    if windowing.max_gap is not None:
        seq, report = fill_gaps(seq, max_gap=windowing.max_gap)
    seg = segment_tracks(
        seq, seg_len=windowing.seg_len, stride=windowing.stride, pad_short=windowing.pad_short
    )
    return SegmentSet(clips=seq, segments=seg, windowing=windowing, gaps=report)


# ------------------------------------------------------------------------- score
@dataclass
class SegmentScores:
    """Output of :func:`score`: one score per segment and what the frame mapping needs.

    Attributes
    ----------
    scores : ndarray of shape (n_segments,), float64
        Anomaly scores, finite (:func:`rank_safe`), higher = more abnormal.
    segments : Segments
        Where each segment comes from (``X`` may be an all-zero view when the
        segments were scored in other processes: only the index is kept).
    protocol : str
        The windowing protocol of the segments ("field" or "person" to map to frames).
    tracked : dict of str to ndarray of bool
        Per clip (in clip order), True where a person is tracked, up to its last posed frame.
    n_nan_confidence : int
        NaN joint confidences the loader set to 0.
    """

    scores: np.ndarray
    segments: Segments
    protocol: str
    tracked: dict[str, np.ndarray] = field(repr=False)
    n_nan_confidence: int = 0

    @property
    def clip_ids(self) -> list[str]:
        return list(self.tracked)


def _tracked_to_last_frame(clips: Sequence[Clip]) -> dict[str, np.ndarray]:
    return tracked_frames(clips, {c.clip_id: c.last_frame + 1 for c in clips})


def score(detector: Any, segset: SegmentSet, *, what: str | None = None) -> SegmentScores:
    """Score step: ``detector.decision_function`` on the segments, made :func:`rank_safe`.

    Parameters
    ----------
    detector : fitted detector
        Anything whose ``decision_function`` takes (n, T, V, 3) segments
        (:class:`~pyod_dsnf.DSNFDetector`).
    segset : SegmentSet
        From :func:`cut`.
    what : str, optional
        The detector's name in warnings and errors.

    Returns
    -------
    SegmentScores
    """
    X = segset.segments.X
    raw = detector.decision_function(X) if len(X) else np.zeros(0)
    return segment_scores(rank_safe(raw, what or type(detector).__name__), segset)


def segment_scores(scores: np.ndarray, segset: SegmentSet) -> SegmentScores:
    """Pair finite segment scores (of any method) with their :class:`SegmentSet`."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(segset),):
        raise ValueError(f"scores has shape {scores.shape}, expected ({len(segset)},)")
    return SegmentScores(
        scores=scores,
        segments=segset.segments,
        protocol=segset.windowing.protocol,
        tracked=_tracked_to_last_frame(segset.clips),
        n_nan_confidence=sum(c.n_nan_confidence for c in segset.clips),
    )


# ------------------------------------------------------------------- to_frames
@dataclass
class FrameScores:
    """Output of :func:`to_frames`: per clip, one score per frame.

    Attributes
    ----------
    mode : {"field", "person"}
        The frame mapping.
    scores : dict of str to ndarray
        Per clip, float64 scores (higher = more abnormal).
    tracked : dict of str to ndarray of bool or None
        Per clip, True where a person is tracked (same lengths as ``scores``);
        None where unknown (the person-frame figures are then NaN).
    """

    mode: str
    scores: dict[str, np.ndarray] = field(repr=False)
    tracked: dict[str, np.ndarray] | None = field(repr=False, default=None)

    @property
    def n_frames(self) -> int:
        return int(sum(len(s) for s in self.scores.values()))


def _extend(flags: np.ndarray, n: int, cid: str) -> np.ndarray:
    if len(flags) > n:
        raise ValueError(f"clip {cid!r} has poses up to frame {len(flags) - 1} but {n} frames")
    out = np.zeros(n, dtype=bool)
    out[: len(flags)] = flags
    return out


def to_frames(
    seg_scores: SegmentScores,
    n_frames: Mapping[str, int | np.ndarray] | None = None,
    **mapping: Any,
) -> FrameScores:
    """Map-to-frames step (:func:`pyod_dsnf.evaluation.frame_scores`) with the tracked flags.

    Parameters
    ----------
    seg_scores : SegmentScores
        From :func:`score`, protocol "field" or "person" (the mapping used).
    n_frames : mapping of str to int or ndarray, optional
        Every clip to map: its frame count or mask (e.g. the test masks, so that
        clips without poses are included). Default: each scored clip up to its last
        posed frame.
    **mapping
        ``reduce``, ``sigma``, ``field_sigmas`` of :func:`~pyod_dsnf.evaluation.frame_scores`.

    Returns
    -------
    FrameScores
    """
    mode = seg_scores.protocol
    if mode not in MODES:
        raise ValueError(f"segments cut for protocol {mode!r} have no frame mapping; use {MODES}")
    if n_frames is None:
        n_frames = {cid: len(t) for cid, t in seg_scores.tracked.items()}
    missing = [c for c in seg_scores.tracked if c not in n_frames]
    if missing:
        raise ValueError(f"n_frames has no entry for scored clip(s) {missing[:5]}")
    scores, _ = map_scores(seg_scores.scores, seg_scores.segments, n_frames, mode=mode, **mapping)
    tracked = {
        cid: _extend(seg_scores.tracked.get(cid, np.zeros(0, bool)), len(s), cid)
        for cid, s in scores.items()
    }
    return FrameScores(mode=mode, scores=scores, tracked=tracked)


# ---------------------------------------------------------------------- metrics
def metrics(frames: FrameScores, masks: Mapping[str, np.ndarray]) -> FrameMetrics:
    """Metrics step: frame scores against frame masks (1 = anomalous).

    Clips of ``masks`` without scores and frames beyond a clip's scores get the
    lowest score of the set (:func:`~pyod_dsnf.evaluation.pad_to_masks`) and count
    as untracked.
    """
    scores = pad_to_masks(frames.scores, masks)
    tracked = None
    if frames.tracked is not None:
        tracked = {
            cid: _extend(frames.tracked.get(cid, np.zeros(0, bool)), len(m), cid)
            for cid, m in masks.items()
        }
    return FrameMetrics.measure(frames.mode, scores, masks, tracked)


# ----------------------------------------------------------------- labels (y)
def segment_labels(
    segments: Segments | SegmentSet, masks: Mapping[str, np.ndarray], *, rule: str = "any"
) -> np.ndarray:
    """Per-segment labels from frame masks: y for supervised evaluation of segment scores.

    Parameters
    ----------
    segments : Segments or SegmentSet
        Test segments (:func:`cut` or :func:`~pyod_dsnf.poses.segment_tracks`).
    masks : mapping of str to ndarray
        Per clip, one 0/1 label per frame (1 = anomalous).
    rule : {"any", "centre"}, default="any"
        ``"any"``: 1 when any real frame the segment covers is anomalous;
        ``"centre"``: the label of the segment's centre frame (the frame the
        field mapping gives its score to).

    Returns
    -------
    ndarray of shape (n_segments,), int8
    """
    seg = segments.segments if isinstance(segments, SegmentSet) else segments
    if not isinstance(seg, Segments):
        raise TypeError(f"segments must be Segments or a SegmentSet, got {type(seg).__name__}")
    if rule not in ("any", "centre"):
        raise ValueError(f"rule must be 'any' or 'centre', got {rule!r}")
    y = np.zeros(len(seg), dtype=np.int8)
    for cid in map(str, np.unique(seg.clip)):
        if cid not in masks:
            raise ValueError(f"masks have no entry for clip {cid!r} of the segments")
        m = np.asarray(masks[cid], dtype=np.int64)
        rows = np.flatnonzero(seg.clip == cid)
        start, length = seg.start[rows], seg.length[rows]
        if (start + length > len(m)).any():
            raise ValueError(f"segments of clip {cid!r} reach beyond its mask of {len(m)} frames")
        if rule == "centre":
            y[rows] = m[start + length // 2]
        else:
            cum = np.concatenate([[0], np.cumsum(m)])
            y[rows] = (cum[start + length] - cum[start]) > 0
    return y
