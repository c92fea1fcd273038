"""One call from segment scores to every frame-level figure, with a random control.

:func:`evaluate` maps segment scores to frames and measures them as ``pipeline.to_frames`` +
``pipeline.metrics`` do (:meth:`FrameMetrics.measure`); its :class:`Evaluation` is a
:class:`~pyod_dsnf.evaluation.metrics.FrameMetrics` with the random-score control added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from pyod_dsnf._checks import check_int
from pyod_dsnf.evaluation.frame_scores import FIELD_SIGMAS, map_scores
from pyod_dsnf.evaluation.metrics import FrameMetrics, auc_roc
from pyod_dsnf.poses.tracks import Clip, tracked_frames
from pyod_dsnf.poses.windows import Segments

__all__ = ["Evaluation", "evaluate"]


@dataclass
class Evaluation(FrameMetrics):
    """:class:`~pyod_dsnf.evaluation.metrics.FrameMetrics` plus a random-score control.

    Every figure of ``FrameMetrics`` (``mode``, ``auc_roc``, ``auc_roc_person_frames``,
    ``auc_roc_macro``, ``n_macro_clips``, ``auc_pr``, ``eer`` and the frame counts, with
    its ``label`` / ``lines``), and:

    Attributes
    ----------
    random_auc_roc, random_auc_roc_person_frames : float
        The two AUCs for uniformly random segment scores mapped the same way,
        averaged over ``n_random`` draws (``*_std``: their standard deviation).
    n_random : int
    n_scored_frames : int
        Frames that received a segment score directly (segment centres in
        "field" mode, covered frames in "person" mode).
    frame_scores : dict of str to ndarray
        The per-frame scores that were evaluated.
    """

    random_auc_roc: float
    random_auc_roc_std: float
    random_auc_roc_person_frames: float
    random_auc_roc_person_frames_std: float
    n_random: int
    n_scored_frames: int
    frame_scores: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def as_dict(self) -> dict[str, float | int | str]:
        """The figures without the per-frame scores."""
        out = asdict(self)
        out.pop("frame_scores")
        return out

    def summary(self) -> str:
        """A small text table; the person-frames view always beside the all-frames one."""
        rows = [
            ("", "all frames", "person frames"),
            ("frames", f"{self.n_frames}", f"{self.n_person_frames}"),
            ("anomalous", f"{self.n_anomalous}", f"{self.n_anomalous_person_frames}"),
            ("AUC-ROC", f"{100 * self.auc_roc:.2f}", f"{100 * self.auc_roc_person_frames:.2f}"),
            (
                f"random AUC-ROC (n={self.n_random})",
                f"{100 * self.random_auc_roc:.2f}",
                f"{100 * self.random_auc_roc_person_frames:.2f}",
            ),
            ("AUC-PR", f"{100 * self.auc_pr:.2f}", ""),
            ("EER", f"{self.eer:.3f}", ""),
            (f"macro AUC-ROC ({self.n_macro_clips} of {self.n_clips} clips: those with both "
             "classes)", f"{100 * self.auc_roc_macro:.2f}", ""),
        ]
        w0 = max(len(r[0]) for r in rows)
        lines = [f"mode={self.mode!r}, {self.n_scored_frames} frames scored directly"]
        lines += [f"{r[0]:<{w0}}  {r[1]:>12}  {r[2]:>14}" for r in rows]
        return "\n".join(lines)


def evaluate(
    segment_scores: np.ndarray,
    segments: Segments,
    masks: Mapping[str, np.ndarray],
    clips: Sequence[Clip] | None = None,
    *,
    mode: str = "person",
    reduce: str = "mean",
    sigma: float | None = None,
    field_sigmas: Sequence[float] = FIELD_SIGMAS,
    n_random: int = 10,
    random_state: int | None = 0,
) -> Evaluation:
    """Map segment scores to frames and compute every frame-level metric.

    Parameters
    ----------
    segment_scores : ndarray of shape (n_segments,)
        Anomaly scores, higher = more abnormal.
    segments : Segments
        The scored segments of the test clips.
    masks : mapping of str to ndarray
        Frame labels per test clip (1 = anomalous); defines the frames evaluated.
    clips : sequence of Clip, optional
        The test clips, to find the frames where a person is tracked. Without
        them, the frames covered by ``segments`` count as person frames.
    mode, reduce, sigma, field_sigmas
        Passed to :func:`pyod_dsnf.evaluation.frame_scores`.
    n_random : int, default=10
        Draws of uniformly random segment scores for the random control.
    random_state : int or None, default=0
        Seed of the random control.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> import numpy as np
    >>> from pyod_dsnf.datasets import make_pose_tracks
    >>> from pyod_dsnf.poses import segment_tracks
    >>> ds = make_pose_tracks(n_train_clips=1, n_test_clips=3, random_state=0)
    >>> seg = segment_tracks(ds.test, seg_len=12, pad_short=True)
    >>> speed = np.abs(np.diff(seg.X[..., :2], axis=1)).mean(axis=(1, 2, 3))
    >>> res = evaluate(speed, seg, ds.masks, ds.test, n_random=2)
    >>> 0.0 <= res.auc_roc <= 1.0
    True
    """
    n_random = check_int("n_random", n_random, 0, expected="a non-negative integer")
    kw = {"mode": mode, "reduce": reduce, "sigma": sigma, "field_sigmas": field_sigmas}
    scores, scored = map_scores(segment_scores, segments, masks, **kw)
    if clips is not None:
        tracked = tracked_frames(clips, masks)
    else:
        _, tracked = map_scores(np.zeros(len(segments)), segments, masks, mode="person")
    rng = np.random.default_rng(random_state)
    rand_all, rand_person = [], []
    for _ in range(int(n_random)):
        r, _ = map_scores(rng.uniform(size=len(segments)), segments, masks, **kw)
        rand_all.append(auc_roc(r, masks))
        rand_person.append(auc_roc(r, masks, tracked))
    nan = float("nan")
    return Evaluation.measure(
        mode,
        scores,
        masks,
        tracked,
        random_auc_roc=float(np.mean(rand_all)) if rand_all else nan,
        random_auc_roc_std=float(np.std(rand_all)) if rand_all else nan,
        random_auc_roc_person_frames=float(np.mean(rand_person)) if rand_person else nan,
        random_auc_roc_person_frames_std=float(np.std(rand_person)) if rand_person else nan,
        n_random=int(n_random),
        n_scored_frames=int(sum(int(s.sum()) for s in scored.values())),
        frame_scores=scores,
    )
