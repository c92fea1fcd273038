"""StreamScorer: per-person anomaly scores of live pose streams, frame by frame.

Poses of many people on many cameras arrive one frame at a time. For each
(camera, person) the scorer keeps the last ``seg_len`` poses in one preallocated
ring buffer; when a person's window of ``seg_len`` consecutive frames is full it
is scored, so the score of frame t comes from the window that ends at t (the
``alignment="causal"`` frame mapping of :func:`pyod_dsnf.evaluation.frame_scores`).
All windows that become ready in one :meth:`StreamScorer.update` or
:meth:`StreamScorer.update_many` call are scored in one batch.

Which windows are scored and which frames they hold is the causal windowing recipe of
:mod:`pyod_dsnf.poses.causal` (``pipeline.Windowing.causal``): the scorer asks it when a
window is due (:func:`~pyod_dsnf.poses.causal.causal_due`) and which ring positions it
reads (:func:`~pyod_dsnf.poses.causal.causal_window`), and fills gaps with its
:func:`~pyod_dsnf.poses.causal.fill_causal`: a gap of at most ``max_gap`` frames is
interpolated when the person reappears, and the filled frames are scored then (late,
marked ``filled``); a longer gap starts a new track. Streaming a recorded clip therefore
gives exactly the offline causal scores of :func:`pyod_dsnf.stream.causal_scores`. See
``docs/streaming.md``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from pyod_dsnf._checks import check_int, is_int
from pyod_dsnf.detector.standardizer import JointStandardizer
from pyod_dsnf.poses import Clip, Track
from pyod_dsnf.poses.causal import causal_due, causal_window, fill_causal
from pyod_dsnf.poses.skeletons import get_layout
from pyod_dsnf.stream.alerts import AlertBudget, AlertRule

__all__ = ["ScoreRecord", "StreamScorer"]

_MAX_VALUE = float(np.finfo(np.float32).max)


@dataclass(slots=True)
class ScoreRecord:
    """The score of one person in one frame.

    Attributes
    ----------
    camera : str
    frame : int
    person : str or int
        The id given to :meth:`StreamScorer.update`.
    score : float
        The detector's anomaly score of the window ending at ``frame``
        (higher = more abnormal; ``inf`` far outside the training data).
    alert : bool
        True when this frame starts an alert episode (:class:`AlertRule`).
    joints : tuple of (str, float)
        The ``top_joints`` joints with the highest standardised NLL share
        (:meth:`~pyod_dsnf.detector.standardizer.JointStandardizer.transform`), highest first.
    filled : bool
        True for a frame interpolated across a short gap (scored late, when the
        person reappeared).
    history : int
        Real frames of the track in the window (``seg_len`` once the track is
        that long; fewer for warm-up windows). Not written by ``as_dict``.
    """

    camera: str
    frame: int
    person: Hashable
    score: float
    alert: bool
    joints: tuple[tuple[str, float], ...]
    filled: bool = False
    history: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The record as a dict (``joints`` as a list of ``{"joint", "z"}``)."""
        return {
            "camera": self.camera,
            "frame": self.frame,
            "person": self.person,
            "score": self.score,
            "alert": self.alert,
            "joints": [{"joint": name, "z": z} for name, z in self.joints],
            "filled": self.filled,
        }


class StreamScorer:
    """Score live pose streams of many cameras and people with a fitted detector.

    Parameters
    ----------
    detector : DSNFDetector
        A fitted detector; its segment length T is the window length.
    threshold : float, "contamination" or AlertBudget, default="contamination"
        Score above which an episode starts: a number, the detector's
        ``threshold_`` (set by its ``contamination``), or a budget from
        :func:`pyod_dsnf.stream.budget_threshold`.
    min_gap : int, default=30
        Frames after an episode's last high score before a new alert can fire.
    hysteresis : float, default=0.0
        Scores above ``threshold - hysteresis`` keep an episode going.
    max_gap : int, default=2
        Gaps of at most this many missing frames are interpolated (as
        :func:`pyod_dsnf.poses.fill_gaps`); a longer gap starts a new track.
    forget_after : int, default=60
        A person not seen for more than this many frames of their camera is
        forgotten (buffer and alert state freed); the same id seen later starts
        a new track. Must be >= ``max_gap``.
    stride : int, default=1
        Score every ``stride``-th window of a track (as
        :func:`pyod_dsnf.poses.segment_tracks` with that stride): ``stride``
        times less compute, alerts up to ``stride - 1`` frames later.
    top_joints : int, default=3
        Joints reported per record.
    warm_up : bool, default=True
        Also score a track's first ``seg_len - 1`` frames, each with a window
        whose missing beginning repeats the track's first pose (at counts 1,
        1 + stride, ...): a score from the first frame on, from less history.
        False: a track is first scored once ``seg_len`` frames are in.
    alert_after : int, optional
        Windows with fewer real frames than this (warm-up windows of a young
        track) are scored but never alert. Default ``seg_len // 2``: a window
        that repeats one pose many times scores high, and alerting on it raises
        false alarms at track starts (docs/streaming.md). 1 to ``seg_len``.
    age_match : callable or None, default=None
        Maps the scores of warm-up windows onto the scale of full windows,
        ``age_match(scores, ages)`` (:class:`~pyod_dsnf.stream.AgeMatch`, e.g.
        :func:`~pyod_dsnf.stream.match_ages` of a calibrated detector), so that
        one threshold gives the same false-alarm rate at every track age; the
        records carry the matched scores. None: raw scores.

    Attributes
    ----------
    seg_len : int
        Window length T.
    n_joints : int
        Joints per pose V.
    rule : AlertRule
        The alert rule in use.
    stats : dict of str to int
        ``n_updates`` (frames received), ``n_poses``, ``n_scored`` (records
        returned), ``n_filled`` (frames interpolated), ``n_new_tracks``,
        ``n_forgotten``, ``n_unscorable`` (full windows without a single joint of
        confidence > 0: not scored) and ``n_alerts``.

    Examples
    --------
    >>> scorer = StreamScorer(detector, threshold=3.0)  # doctest: +SKIP
    >>> for rec in scorer.update("cam1", 17, {"3": keypoints}):  # doctest: +SKIP
    ...     print(rec.person, rec.score, rec.alert, rec.joints[0])
    """

    def __init__(
        self,
        detector: Any,
        *,
        threshold: float | str | AlertBudget = "contamination",
        min_gap: int = 30,
        hysteresis: float = 0.0,
        max_gap: int = 2,
        forget_after: int = 60,
        stride: int = 1,
        top_joints: int = 3,
        warm_up: bool = True,
        alert_after: int | None = None,
        age_match: Any = None,
    ) -> None:
        check_is_fitted(detector, ["input_shape_", "joint_nll_mean_", "joint_nll_std_"])
        self.detector = detector
        self.seg_len, self.n_joints, self.n_channels = (int(s) for s in detector.input_shape_)
        self.max_gap = check_int("max_gap", max_gap, 0)
        self.forget_after = check_int("forget_after", forget_after, 0)
        if self.forget_after < self.max_gap:
            raise ValueError(
                f"forget_after must be >= max_gap ({self.max_gap}) so that a short gap can be "
                f"filled, got {forget_after!r}"
            )
        self.stride = check_int("stride", stride, 1)
        self.top_joints = check_int("top_joints", top_joints, 0)
        if not isinstance(warm_up, (bool, np.bool_)):
            raise TypeError(f"warm_up must be a bool, got {warm_up!r}")
        self.warm_up = bool(warm_up)
        self.alert_after = self.seg_len // 2 if alert_after is None else check_int(
            "alert_after", alert_after, 1)  # fmt: skip
        if self.alert_after > self.seg_len:
            raise ValueError(
                f"alert_after must be <= seg_len ({self.seg_len}), got {alert_after!r}"
            )
        self.alert_after = max(self.alert_after, 1)
        if age_match is not None and not callable(age_match):
            raise TypeError(f"age_match must be callable or None, got {type(age_match).__name__}")
        self.age_match = age_match
        if isinstance(threshold, AlertBudget):
            value = threshold.threshold
        elif isinstance(threshold, str):
            if threshold != "contamination":
                raise ValueError(
                    f"threshold must be a number, 'contamination' or an AlertBudget, got "
                    f"{threshold!r}"
                )
            value = float(detector.threshold_)
        else:
            value = threshold
        self.rule = AlertRule(value, min_gap=min_gap, hysteresis=hysteresis)  # type: ignore[arg-type]
        names = get_layout(detector.layout).joint_names
        self.joint_names = tuple(names) if len(names) == self.n_joints else tuple(
            f"joint{i}" for i in range(self.n_joints))  # fmt: skip
        self._standardizer = JointStandardizer.of(detector)
        self.stats = dict.fromkeys(
            ("n_updates", "n_poses", "n_scored", "n_filled", "n_new_tracks", "n_forgotten",
             "n_unscorable", "n_alerts"), 0)  # fmt: skip
        self._cameras: dict[str, dict[Hashable, int]] = {}  # camera -> person -> slot
        self._last_frame: dict[str, int] = {}
        cap = 16
        self._buf = np.zeros((cap, self.seg_len, self.n_joints, 3), dtype=np.float32)
        self._count = np.zeros(cap, dtype=np.int64)  # frames in the slot's current track
        self._seen = np.zeros(cap, dtype=np.int64)  # last frame of the slot's track
        self._active = np.zeros(cap, dtype=bool)  # in an alert episode
        self._ep_last = np.zeros(cap, dtype=np.int64)
        self._free = list(range(cap - 1, -1, -1))
        self._released: list[int] = []

    # ------------------------------------------------------------------ state
    @property
    def n_tracked(self) -> int:
        """People currently remembered, over all cameras."""
        return sum(len(p) for p in self._cameras.values())

    @property
    def capacity(self) -> int:
        """Ring buffers allocated (doubled when full: under twice the peak of people remembered)."""
        return int(self._buf.shape[0])

    def _alloc(self) -> int:
        if not self._free:
            cap = self._buf.shape[0]
            self._buf = np.concatenate([self._buf, np.zeros_like(self._buf)])
            for name in ("_count", "_seen", "_active", "_ep_last"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr, np.zeros_like(arr)]))
            self._free = list(range(2 * cap - 1, cap - 1, -1))
        slot = self._free.pop()
        self._count[slot] = 0
        self._active[slot] = False
        self.stats["n_new_tracks"] += 1
        return slot

    # ------------------------------------------------------------- validation
    def _pose(self, value: object, camera: str, frame: int, pid: Hashable) -> np.ndarray:
        """One person's keypoints as float32 (V, 3); finiteness is checked per frame."""
        arr = value if type(value) is np.ndarray else None
        if arr is None:
            try:
                arr = np.asarray(value)
            except (TypeError, ValueError, OverflowError):
                arr = np.asarray(None)
        v = self.n_joints
        if arr.dtype.kind not in "fiu":
            raise TypeError(
                f"camera {camera!r} frame {frame} person {pid!r}: keypoints must be numbers, "
                f"shape ({v}, 3) or ({v}, 2) or flat, got {type(value).__name__} {value!r:.60}"
            )
        shape = arr.shape
        if shape == (v, 3):
            return arr.astype(np.float32)
        if shape in ((v * 3,), (v * 2,)):
            arr = arr.reshape(v, -1)
        elif shape != (v, 2):
            raise ValueError(
                f"camera {camera!r} frame {frame} person {pid!r}: keypoints must have shape "
                f"({v}, 3) or ({v}, 2) (or {3 * v} / {2 * v} numbers x, y[, c] per joint), "
                f"got shape {shape}"
            )
        out = np.ones((v, 3), dtype=np.float32)
        out[:, : arr.shape[1]] = arr
        return out

    def _check_frame(
        self, camera: object, frame: object, people: object, last: dict[str, int]
    ) -> tuple[str, int, list[Hashable], np.ndarray]:
        if not isinstance(camera, str):
            raise TypeError(f"camera must be a str, got {type(camera).__name__} {camera!r:.40}")
        if not is_int(frame):
            raise TypeError(
                f"frame of camera {camera!r} must be an int, got {type(frame).__name__} "
                f"{frame!r:.40}"
            )
        frame = int(frame)
        if not 0 <= frame <= 2**62:
            raise ValueError(f"frame of camera {camera!r} must be in [0, 2**62], got {frame}")
        prev = last.get(camera)
        if prev is not None and frame <= prev:
            raise ValueError(
                f"camera {camera!r}: frame {frame} does not come after frame {prev}; frames "
                f"must increase per camera"
            )
        if not isinstance(people, Mapping):
            raise TypeError(
                f"people of camera {camera!r} frame {frame} must be a mapping person id -> "
                f"keypoints, got {type(people).__name__}"
            )
        ids, poses = [], []
        with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is caught below
            for pid, value in people.items():
                if isinstance(pid, bool) or not isinstance(pid, (str, int)):
                    raise TypeError(
                        f"camera {camera!r} frame {frame}: person ids must be str or int, got "
                        f"{type(pid).__name__} {pid!r:.40}"
                    )
                ids.append(pid)
                poses.append(self._pose(value, camera, frame, pid))
        stacked = (np.stack(poses) if poses
                   else np.zeros((0, self.n_joints, 3), np.float32))  # fmt: skip
        ok = np.isfinite(stacked).all(axis=(1, 2))
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raw = np.asarray(people[ids[i]], dtype=np.float64).ravel()
            bad = raw[~(np.isfinite(raw) & (np.abs(raw) <= _MAX_VALUE))]
            raise ValueError(
                f"camera {camera!r} frame {frame} person {ids[i]!r}: keypoints must be finite "
                f"numbers within the float32 range, got {bad[0] if bad.size else 'inf'!r}"
            )
        last[camera] = frame
        return camera, frame, ids, stacked

    # ---------------------------------------------------------------- updates
    def update(self, camera: str, frame: int, people: Mapping[Hashable, Any]) -> list[ScoreRecord]:
        """Add one frame of one camera; return the scores it completes.

        Parameters
        ----------
        camera : str
        frame : int
            Frame index, >= 0, increasing per camera (gaps allowed).
        people : mapping of person id (str or int) to keypoints
            Keypoints of shape (V, 3) ``(x, y, confidence)`` or (V, 2) (confidence
            1), or the same flattened. Confidence <= 0 marks an undetected joint.

        Returns
        -------
        list of ScoreRecord
            One record per person whose window ending at ``frame`` is full
            (after ``seg_len`` consecutive frames), plus records of frames
            interpolated across a short gap of a reappearing person.

        Raises
        ------
        TypeError, ValueError
            Bad arguments, or a frame that does not come after the camera's last
            one; the message names camera, frame and person. Nothing is changed.
        """
        return self.update_many([(camera, frame, people)])

    def update_many(self, frames: Iterable[Any]) -> list[ScoreRecord]:
        """Add several frames (of one or several cameras); score them in one batch.

        Parameters
        ----------
        frames : iterable of (camera, frame, people) tuples or mappings
            Each as the arguments of :meth:`update` (mappings with keys
            ``"camera"``, ``"frame"``, ``"people"``), in time order per camera.

        Returns
        -------
        list of ScoreRecord
            In the order the frames were given.

        Raises
        ------
        TypeError, ValueError
            As :meth:`update`; all frames are checked before any is applied, so
            a bad one leaves the scorer unchanged.
        """
        if isinstance(frames, (str, bytes, Mapping)):
            raise TypeError(
                f"frames must be an iterable of (camera, frame, people), got "
                f"{type(frames).__name__}"
            )
        last = dict(self._last_frame)
        checked = []
        for i, item in enumerate(frames):
            if isinstance(item, Mapping):
                missing = {"camera", "frame", "people"} - set(item)
                if missing:
                    raise ValueError(f"frames[{i}] lacks key(s) {sorted(missing)}")
                item = (item["camera"], item["frame"], item["people"])
            elif not isinstance(item, (tuple, list)) or len(item) != 3:
                raise TypeError(
                    f"frames[{i}] must be (camera, frame, people) or a mapping, got "
                    f"{type(item).__name__}"
                )
            checked.append(self._check_frame(*item, last))
        pending: list[tuple[str, int, Hashable, bool, int, np.ndarray]] = []
        try:
            for camera, frame, ids, poses in checked:
                self._apply(camera, frame, ids, poses, pending)
            return self._score(pending)
        finally:
            # slots of forgotten people are reused only after their last records are out
            self._free.extend(self._released)
            self._released.clear()

    def _due(self, n: np.ndarray) -> np.ndarray:
        """Which track lengths ``n`` (frames pushed) complete a window: the causal recipe's."""
        return causal_due(n, self.seg_len, self.stride, self.warm_up)

    def _window_index(self, n: np.ndarray) -> np.ndarray:
        """Ring positions (len(n), T) of the window ending at each slot's newest frame.

        The causal recipe's window (:func:`~pyod_dsnf.poses.causal.causal_window`), read
        from the ring, which holds a track's frame i at position ``i % T``.
        """
        return causal_window(n, self.seg_len) % self.seg_len

    def _push_window(self, slot: int, pending: list, key: tuple) -> None:
        """After a push: queue the window ending at the slot's newest frame if due."""
        n = self._count[slot : slot + 1]
        if self._due(n)[0]:
            idx = self._window_index(n)[0]
            pending.append((*key, slot, self._buf[slot, idx], min(int(n[0]), self.seg_len)))

    def _apply(self, camera: str, frame: int, ids: list, poses: np.ndarray,
               pending: list) -> None:  # fmt: skip
        t = self.seg_len
        people = self._cameras.setdefault(camera, {})
        self._last_frame[camera] = frame
        self.stats["n_updates"] += 1
        self.stats["n_poses"] += len(ids)
        if ids:
            get = people.get
            slot_list = [get(pid, -1) for pid in ids]
            if -1 in slot_list:
                for i, pid in enumerate(ids):
                    if slot_list[i] == -1:
                        slot_list[i] = people[pid] = self._alloc()
            slots = np.asarray(slot_list, dtype=np.int64)
            count = self._count[slots]
            gap = frame - self._seen[slots] - 1  # missing frames since the last pose
            fill = (count > 0) & (gap >= 1) & (gap <= self.max_gap)
            restart = (count > 0) & (gap > self.max_gap)
            if restart.any():  # a long gap: a new track, as fill_gaps splits
                self._count[slots[restart]] = 0
                self.stats["n_new_tracks"] += int(restart.sum())
            if fill.any():  # short gaps: interpolate, push and queue frame by frame
                for i in np.flatnonzero(fill):
                    self._fill(camera, ids[i], int(slots[i]), frame, poses[i], pending)
                keep = ~fill
                slots, poses = slots[keep], poses[keep]
                ids = [pid for pid, k in zip(ids, keep.tolist(), strict=True) if k]
            self._buf[slots, self._count[slots] % t] = poses
            self._count[slots] += 1
            self._seen[slots] = frame
            n = self._count[slots]
            due = self._due(n)
            if due.any():
                ds = slots[due]
                windows = self._buf[ds[:, None], self._window_index(n[due])]
                hist = np.minimum(n[due], t).tolist()
                for k, j in enumerate(np.flatnonzero(due).tolist()):
                    pending.append((camera, frame, ids[j], False, int(ds[k]), windows[k], hist[k]))
        self._forget(camera, frame, people)

    def _fill(self, camera: str, pid: Hashable, slot: int, frame: int, pose: np.ndarray,
              pending: list) -> None:  # fmt: skip
        """Interpolate the gap before ``frame`` with fill_gaps, push and queue each frame."""
        t = self.seg_len
        prev = self._buf[slot, (self._count[slot] - 1) % t]
        seen = int(self._seen[slot])
        track = Track(0, [seen, frame], np.stack([prev, pose]), np.full(2, np.nan, np.float32))
        filled, _ = fill_causal(Clip("", [track]), self.max_gap)
        piece = filled[0].tracks[0]
        for f, kp, is_filled in zip(piece.frames[1:], piece.keypoints[1:], piece.filled[1:],
                                    strict=True):  # fmt: skip
            self._buf[slot, self._count[slot] % t] = kp
            self._count[slot] += 1
            self._seen[slot] = f
            self.stats["n_filled"] += int(is_filled)
            self._push_window(slot, pending, (camera, int(f), pid, bool(is_filled)))

    def _forget(self, camera: str, frame: int, people: dict[Hashable, int]) -> None:
        if not people:
            return
        slots = np.fromiter(people.values(), dtype=np.int64, count=len(people))
        if (frame - self._seen[slots] > self.forget_after).any():
            for pid, slot in list(people.items()):
                if frame - self._seen[slot] > self.forget_after:
                    del people[pid]
                    self._released.append(slot)
                    self.stats["n_forgotten"] += 1

    # ---------------------------------------------------------------- scoring
    def _score(self, pending: list) -> list[ScoreRecord]:
        if not pending:
            return []
        X = np.stack([p[5] for p in pending])
        keep = (X[..., 2] > 0).any(axis=(1, 2)) if self.n_channels == 3 else np.ones(len(X), bool)
        if not keep.all():
            self.stats["n_unscorable"] += int((~keep).sum())
            pending = [p for p, k in zip(pending, keep, strict=True) if k]
            X = X[keep]
            if not pending:
                return []
        joint = self.detector.joint_nll(X[..., : self.n_channels])
        scores = self.detector.anomaly_scores_from_joint(joint)
        if self.age_match is not None:
            scores = self.age_match(scores, np.fromiter((p[6] for p in pending), np.int64,
                                                        count=len(pending)))  # fmt: skip
        z = self._standardizer.transform(joint)
        k = min(self.top_joints, self.n_joints)
        top = np.argsort(-z, axis=1, kind="stable")[:, :k]
        top_z = np.take_along_axis(z, top, axis=1).tolist()
        names = self.joint_names
        top_names = [[names[j] for j in row] for row in top.tolist()]
        records = []
        step = self.rule.step
        active, ep_last = self._active, self._ep_last
        n_alerts = 0
        after = self.alert_after
        for i, (camera, frame, pid, filled, slot, _, hist) in enumerate(pending):
            score = float(scores[i])
            alert = False
            if hist >= after:  # shorter warm-up windows are scored but do not alert
                alert, act, last = step(bool(active[slot]), int(ep_last[slot]), frame, score)
                active[slot], ep_last[slot] = act, last
            n_alerts += alert
            records.append(ScoreRecord(camera, frame, pid, score, alert,
                                       tuple(zip(top_names[i], top_z[i], strict=True)),
                                       filled, hist))  # fmt: skip
        self.stats["n_alerts"] += n_alerts
        self.stats["n_scored"] += len(records)
        return records
