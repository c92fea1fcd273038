"""Synthetic COCO-17 pose tracks of walking people with labelled abnormal behaviour.

A small kinematic stick figure walks with a gait cycle (legs and arms swing in
antiphase, knees flex, the body bobs), at varied speed, size, position and
direction; sometimes it pauses. Keypoints get Gaussian noise, confidences are
drawn per joint, a few joints go undetected (confidence 0, coordinates off),
and tracks have short and long gaps and different lengths, as real tracker
output does. Test clips add one person who, for an interval, behaves abnormally:

========== ==========================================================
code, name what the person does
========== ==========================================================
1 running  2.2-3x the speed, larger and faster strides, forward lean
2 falling  topples about the feet within ~10 frames and lies still
3 flailing arms thrash fast and wide (fighting), little walking
4 jumping  jumps in place, knees bent, arms raised
5 loitering stands still for long, swaying and looking around
========== ==========================================================

The frame mask is 1 while the abnormal behaviour lasts. The output has the
structure of :func:`pyod_dsnf.poses.load_dataset`, so every downstream function
runs on it. The same ``random_state`` gives the same data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyod_dsnf._checks import check_int, is_int
from pyod_dsnf.datasets.folder import PoseDataset
from pyod_dsnf.poses.tracks import Clip, Track

__all__ = ["BEHAVIOURS", "make_pose_tracks"]

#: The synthetic behaviours; index 0 is normal, the others are the anomaly kinds.
BEHAVIOURS = ("normal", "running", "falling", "flailing", "jumping", "loitering")

# COCO-17 joint positions of a neutral frontal pose, in body heights, hip centre
# at the origin, y up. The person's left side is at +x.
_NEUTRAL = np.array(
    [
        (0.00, 0.45), (0.03, 0.47), (-0.03, 0.47), (0.06, 0.46), (-0.06, 0.46),
        (0.12, 0.33), (-0.12, 0.33), (0.14, 0.17), (-0.14, 0.17), (0.15, 0.03),
        (-0.15, 0.03), (0.08, 0.00), (-0.08, 0.00), (0.08, -0.25), (-0.08, -0.25),
        (0.08, -0.50), (-0.08, -0.50),
    ]
)  # fmt: skip
_THIGH, _SHIN, _UPPER_ARM, _FOREARM = 0.25, 0.25, 0.16, 0.14
_FPS = 15.0


def _limb(origin, angle, length, fwd):
    """End point of a limb hanging from ``origin`` rotated by ``angle`` (forward +)."""
    dx = length * np.sin(angle)
    return np.stack([origin[..., 0] + dx * fwd[..., 0], origin[..., 1] - length * np.cos(angle)
                     + dx * fwd[..., 1]], axis=-1)  # fmt: skip


def _body(p: dict[str, np.ndarray]) -> np.ndarray:
    """Joint positions (L, 17, 2) in body units from per-frame pose parameters."""
    n = p["phase"].shape[0]
    side = p["side"][:, None]  # 1 = seen from the side, 0 = from the front
    fwd = np.stack([p["dir"] * side[:, 0], 0.15 * (1 - side[:, 0])], axis=-1)
    width = 1.0 - 0.6 * side  # a body seen from the side looks narrow
    j = np.repeat(_NEUTRAL[None], n, axis=0).copy()
    j[:, :, 0] *= width
    swing = p["amp"] * np.sin(p["phase"])
    bend_l = p["knee"] * np.clip(np.sin(p["phase"] + np.pi / 2), 0, None)
    bend_r = p["knee"] * np.clip(np.sin(p["phase"] - np.pi / 2), 0, None)
    for hip, knee, ankle, a, b in ((11, 13, 15, swing, bend_l), (12, 14, 16, -swing, bend_r)):
        j[:, knee] = _limb(j[:, hip], a - p["crouch"], _THIGH, fwd)
        j[:, ankle] = _limb(j[:, knee], a - b + p["crouch"], _SHIN, fwd)
    # upper body: lean forward, arms swing against the legs unless overridden
    lean = p["lean"][:, None]
    for k in range(11):
        j[:, k, 0] += lean[:, 0] * fwd[:, 0] * (j[:, k, 1] / 0.45)
    arm_l = np.where(np.isnan(p["arm_l"]), -0.8 * swing, p["arm_l"])
    arm_r = np.where(np.isnan(p["arm_r"]), 0.8 * swing, p["arm_r"])
    for sh, el, wr, a in ((5, 7, 9, arm_l), (6, 8, 10, arm_r)):
        lat = np.stack([np.sign(_NEUTRAL[sh, 0]) * np.ones(n), np.zeros(n)], axis=-1)
        raise_dir = fwd * (1 - p["arm_lateral"][:, None]) + lat * p["arm_lateral"][:, None]
        j[:, el] = _limb(j[:, sh], a, _UPPER_ARM, raise_dir)
        j[:, wr] = _limb(j[:, el], a + p["elbow"], _FOREARM, raise_dir)
    j[:, :5, 0] += p["look"][:, None]  # head turning
    return j


class _Person:
    """Per-frame parameters of one person, built behaviour by behaviour."""

    def __init__(self, rng: np.random.Generator, n: int, width: float, height: float):
        self.rng = rng
        self.n = n
        self.h0 = rng.uniform(80, 230)
        heading = rng.uniform(-np.pi, np.pi)
        self.vel_dir = np.array([np.cos(heading), 0.35 * np.sin(heading)])
        self.vel_dir /= np.linalg.norm(self.vel_dir)
        self.origin = np.array([rng.uniform(0.1, 0.9) * width, rng.uniform(0.35, 0.9) * height])
        self.speed = np.full(n, rng.uniform(0.6, 1.4))  # relative walking speed
        self.amp = np.full(n, rng.uniform(0.28, 0.45))
        self.knee = np.full(n, rng.uniform(0.35, 0.6))
        self.freq = np.full(n, rng.uniform(0.8, 1.0))  # strides per second at speed 1
        self.lean = np.full(n, rng.uniform(0.0, 0.04))
        self.crouch = np.zeros(n)
        self.arm_l = np.full(n, np.nan)
        self.arm_r = np.full(n, np.nan)
        self.elbow = np.full(n, rng.uniform(0.1, 0.35))
        self.arm_lateral = np.zeros(n)
        self.look = 0.01 * np.sin(np.arange(n) * rng.uniform(0.05, 0.15))
        self.lift = np.zeros(n)  # vertical jump offset, body heights
        self.tilt = np.zeros(n)  # fall rotation about the feet, radians
        self.code = np.zeros(n, dtype=np.int8)

    def pause(self, a: int, b: int) -> None:
        ramp = np.minimum(np.arange(b - a), np.arange(b - a)[::-1]) / 4.0
        self.speed[a:b] *= 1 - np.clip(ramp, 0, 1)

    def abnormal(self, kind: int, a: int, b: int) -> None:
        rng, t = self.rng, np.arange(b - a)
        self.code[a:b] = kind
        if kind == 1:  # running
            self.speed[a:b] = rng.uniform(2.2, 3.0)
            self.amp[a:b] *= rng.uniform(1.4, 1.7)
            self.knee[a:b] = rng.uniform(0.9, 1.2)
            self.freq[a:b] *= rng.uniform(1.4, 1.7)
            self.lean[a:b] = rng.uniform(0.06, 0.12)
            self.elbow[a:b] = rng.uniform(1.0, 1.4)
        elif kind == 2:  # falling
            sign = rng.choice([-1.0, 1.0])
            dur = int(rng.integers(8, 13))
            self.tilt[a:b] = sign * (np.pi / 2 - 0.1) * np.clip(t / dur, 0, 1) ** 2
            self.speed[a:b] = np.where(t < dur, self.speed[a:b] * 0.5, 0.0)
            self.arm_l[a:b] = np.where(t < dur, 1.2 * np.clip(t / dur, 0, 1), 1.4)
            self.arm_r[a:b] = self.arm_l[a:b]
        elif kind == 3:  # flailing / fighting
            w = rng.uniform(1.0, 1.8)
            self.speed[a:b] *= 0.2
            self.arm_l[a:b] = 1.3 + 1.1 * np.sin(w * t + rng.uniform(0, 6.3))
            self.arm_r[a:b] = 1.3 + 1.1 * np.sin(1.1 * w * t + rng.uniform(0, 6.3))
            self.elbow[a:b] = 0.8 + 0.6 * np.sin(1.7 * w * t)
            self.arm_lateral[a:b] = 0.5 + 0.4 * np.sin(0.5 * w * t)
        elif kind == 4:  # jumping in place
            period = int(rng.integers(10, 15))
            ph = 2 * np.pi * (t % period) / period
            self.speed[a:b] = 0.0
            self.lift[a:b] = rng.uniform(0.15, 0.3) * np.clip(np.sin(ph), 0, None)
            self.crouch[a:b] = 0.5 * np.clip(-np.sin(ph), 0, None)
            self.arm_l[a:b] = 2.2 * np.clip(np.sin(ph), 0, None)
            self.arm_r[a:b] = self.arm_l[a:b]
            self.arm_lateral[a:b] = 0.6
        elif kind == 5:  # loitering: still, swaying, looking around
            self.speed[a:b] = 0.0
            self.look[a:b] = 0.04 * np.sin(t * rng.uniform(0.08, 0.2))
            self.lean[a:b] = 0.02 * np.sin(t * rng.uniform(0.03, 0.07))
        else:  # pragma: no cover - internal
            raise ValueError(kind)

    def render(self) -> np.ndarray:
        """Pixel coordinates (n, 17, 2), image y downwards."""
        n = self.n
        step = self.speed * 0.05 * self.h0  # ~0.75 body heights per second at speed 1
        phase = np.cumsum(2 * np.pi * self.freq * self.speed / _FPS) + self.rng.uniform(0, 6.3)
        moving = step > 1e-9
        # walking amplitude fades when the person stands
        amp = self.amp * np.clip(self.speed, 0, 1)
        pos = self.origin + np.cumsum(step[:, None] * self.vel_dir[None], axis=0)
        # perspective: people lower in the image are nearer and look taller
        h = self.h0 * np.exp((pos[:, 1] - self.origin[1]) / 1500.0)
        side = np.full(n, abs(self.vel_dir[0]))
        params = {
            "phase": np.where(moving, phase, 0.0),
            "amp": amp,
            "knee": self.knee * np.clip(self.speed, 0, 1),
            "side": side,
            "dir": np.full(n, np.sign(self.vel_dir[0]) or 1.0),
            "lean": self.lean,
            "crouch": self.crouch,
            "arm_l": self.arm_l,
            "arm_r": self.arm_r,
            "elbow": self.elbow,
            "arm_lateral": self.arm_lateral,
            "look": self.look,
        }
        body = _body(params)
        body[:, :, 1] += (0.012 * np.abs(np.cos(params["phase"])) * moving)[:, None]
        # fall: rotate about the ankles' midpoint
        feet = body[:, 15:17].mean(axis=1, keepdims=True)
        c, s = np.cos(self.tilt)[:, None], np.sin(self.tilt)[:, None]
        rel = body - feet
        body = feet + np.stack(
            [c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], axis=-1
        )
        body[:, :, 1] += self.lift[:, None]
        pix = np.empty_like(body)
        pix[..., 0] = pos[:, None, 0] + body[..., 0] * h[:, None]
        pix[..., 1] = pos[:, None, 1] - body[..., 1] * h[:, None]
        return pix, h


def _observe(
    rng: np.random.Generator, pix: np.ndarray, h: np.ndarray, missing_joint_rate: float
) -> np.ndarray:
    """Detector output: noisy coordinates, confidences, undetected joints."""
    n = pix.shape[0]
    noise = rng.uniform(0.008, 0.02)
    xy = pix + rng.normal(scale=noise, size=pix.shape) * h[:, None, None]
    conf = np.clip(rng.beta(6, 2, size=(n, 17)) - 0.1 * (np.arange(17) >= 13), 0.01, 1.0)
    miss = rng.random((n, 17)) < missing_joint_rate
    xy[miss] += (
        rng.normal(scale=0.15, size=(int(miss.sum()), 2))
        * np.repeat(h[:, None], 17, axis=1)[miss][:, None]
    )
    conf[miss] = 0.0
    return np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)


def _drop_frames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indices kept after simulated tracker gaps (a short one, sometimes a long one)."""
    keep = np.ones(n, dtype=bool)
    if n > 30 and rng.random() < 0.3:
        a = int(rng.integers(5, n - 5))
        keep[a : a + int(rng.integers(1, 3))] = False
    if n > 80 and rng.random() < 0.15:
        a = int(rng.integers(20, n - 40))
        keep[a : a + int(rng.integers(12, 25))] = False
    return np.flatnonzero(keep)


def _make_clip(
    rng: np.random.Generator,
    clip_id: str,
    n_frames: int,
    max_persons: int,
    abnormal_kind: int,
    missing_joint_rate: float,
) -> tuple[Clip, np.ndarray]:
    n_persons = int(rng.integers(1, max_persons + 1))
    tracks, codes = [], np.zeros(n_frames, dtype=np.int8)
    for pid in range(n_persons + (abnormal_kind > 0)):
        is_abnormal = abnormal_kind > 0 and pid == n_persons
        if is_abnormal:
            length = int(rng.integers(max(60, n_frames // 2), n_frames + 1))
        else:
            length = int(rng.integers(min(16, n_frames), n_frames + 1))
        first = int(rng.integers(0, n_frames - length + 1))
        person = _Person(rng, length, 1920.0, 1080.0)
        if rng.random() < 0.25 and length > 40:
            a = int(rng.integers(0, length - 20))
            person.pause(a, a + int(rng.integers(8, 20)))
        if is_abnormal:
            dur = int(rng.integers(25, min(70, length - 10) + 1))
            a = int(rng.integers(5, length - dur + 1))
            person.abnormal(abnormal_kind, a, a + dur)
            seg = slice(first + a, first + a + dur)
            codes[seg] = np.where(codes[seg] == 0, abnormal_kind, codes[seg])
        pix, h = person.render()
        kp = _observe(rng, pix, h, missing_joint_rate)
        keep = _drop_frames(rng, length)
        scores = rng.uniform(0.6, 1.0, size=keep.shape[0]).astype(np.float32)
        tracks.append(Track(pid + 1, first + keep, kp[keep], scores))
    return Clip(clip_id=clip_id, tracks=tracks), codes


def make_pose_tracks(
    n_train_clips: int = 16,
    n_test_clips: int = 8,
    *,
    n_frames: int | tuple[int, int] = (120, 240),
    max_persons: int = 3,
    kinds: Sequence[str] = BEHAVIOURS[1:],
    abnormal_fraction: float = 0.8,
    missing_joint_rate: float = 0.02,
    random_state: int | None = None,
) -> PoseDataset:
    """Generate synthetic pose tracks with labelled abnormal behaviour.

    Parameters
    ----------
    n_train_clips : int, default=16
        Clips with normal behaviour only.
    n_test_clips : int, default=8
        Clips of which about ``abnormal_fraction`` hold one abnormal event.
    n_frames : int or (int, int), default=(120, 240)
        Clip length in frames (15 fps), or the range it is drawn from.
    max_persons : int, default=3
        Normal people per clip are drawn from ``1 .. max_persons``.
    kinds : sequence of str, default=all of ``BEHAVIOURS[1:]``
        Abnormal behaviours to use, cycled over the abnormal test clips.
    abnormal_fraction : float, default=0.8
        Share of test clips with an abnormal event.
    missing_joint_rate : float, default=0.02
        Probability that a joint in a frame is undetected (confidence 0).
    random_state : int or None
        Seed; the same seed gives the same data.

    Returns
    -------
    PoseDataset
        ``train`` and ``test`` clips (ids ``train_000``, ``test_000``, ...),
        ``masks`` (1 = abnormal frame) and ``behaviours`` (per test frame the
        index into :data:`~pyod_dsnf.datasets.BEHAVIOURS`). Keypoints are COCO-17 ``(x, y, conf)``
        in pixels of a 1920x1080 view; tracks have gaps as tracker output does.

    Examples
    --------
    >>> ds = make_pose_tracks(n_train_clips=2, n_test_clips=2, random_state=0)
    >>> ds.test[0].tracks[0].keypoints.shape[1:]
    (17, 3)
    """
    for name, value, low in (
        ("n_train_clips", n_train_clips, 0),
        ("n_test_clips", n_test_clips, 0),
        ("max_persons", max_persons, 1),
    ):
        check_int(name, value, low)
    lo, hi = (n_frames, n_frames) if np.ndim(n_frames) == 0 else tuple(n_frames)
    if not (is_int(lo) and is_int(hi)) or not (
        80 <= lo <= hi
    ):
        raise ValueError(f"n_frames must be an int >= 80 or a range (lo, hi), got {n_frames!r}")
    bad = [k for k in kinds if k not in BEHAVIOURS[1:]]
    if bad or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {BEHAVIOURS[1:]}, got {kinds!r}")
    if not 0.0 <= abnormal_fraction <= 1.0:
        raise ValueError(f"abnormal_fraction must lie in [0, 1], got {abnormal_fraction!r}")
    if not 0.0 <= missing_joint_rate < 1.0:
        raise ValueError(f"missing_joint_rate must lie in [0, 1), got {missing_joint_rate!r}")
    rng = np.random.default_rng(random_state)
    codes = [BEHAVIOURS.index(k) for k in kinds]

    def length() -> int:
        return int(rng.integers(lo, hi + 1))

    train = [
        _make_clip(rng, f"train_{i:03d}", length(), max_persons, 0, missing_joint_rate)[0]
        for i in range(n_train_clips)
    ]
    test, masks, behaviours = [], {}, {}
    k = 0
    for i in range(n_test_clips):
        kind = 0
        if rng.random() < abnormal_fraction:
            kind, k = codes[k % len(codes)], k + 1
        clip, code = _make_clip(rng, f"test_{i:03d}", length(), max_persons, kind,
                                missing_joint_rate)  # fmt: skip
        test.append(clip)
        masks[clip.clip_id] = (code > 0).astype(np.int8)
        behaviours[clip.clip_id] = code
    return PoseDataset(train=train, test=test, masks=masks, behaviours=behaviours)
