"""Small synthetic COCO-17 pose segments for the estimator tests.

A standing template skeleton (pixel units, y pointing down) walks in place:
arms and legs swing with a sinusoidal gait whose phase, speed, amplitude,
body size and image position vary per segment, plus keypoint noise.
Anomalies are built from normal segments so that only the behaviour differs.
"""

from __future__ import annotations

import numpy as np

from pyod_dsnf import DSNFDetector

#: The smallest useful detector: two flow steps, four channels, two epochs, on the CPU
#: (a test that wants CUDA says so: "auto" would mean CUDA on a GPU machine).
TINY = dict(n_flow_steps=2, hidden_channels=4, epochs=2, batch_size=32, random_state=0,
            device="cpu")  # fmt: skip


def tiny_detector(**kw) -> DSNFDetector:
    """A ``TINY`` detector; keyword arguments override its settings."""
    return DSNFDetector(**{**TINY, **kw})


# COCO-17 template (x, y) of a person about 1 unit tall, feet at y = 0.5.
_TEMPLATE = np.array(
    [
        [0.0, -0.45], [-0.03, -0.48], [0.03, -0.48], [-0.06, -0.46], [0.06, -0.46],
        [-0.12, -0.3], [0.12, -0.3], [-0.15, -0.1], [0.15, -0.1], [-0.16, 0.08],
        [0.16, 0.08], [-0.08, 0.05], [0.08, 0.05], [-0.09, 0.28], [0.09, 0.28],
        [-0.1, 0.5], [0.1, 0.5],
    ]
)  # fmt: skip
# Joint -> (swing sign, amplitude factor): arms swing against the legs on the same side.
_SWING = {7: (1, 0.5), 9: (1, 1.0), 8: (-1, 0.5), 10: (-1, 1.0),
          13: (-1, 0.5), 15: (-1, 1.0), 14: (1, 0.5), 16: (1, 1.0)}  # fmt: skip


def walking_segments(
    n: int, n_frames: int = 8, *, seed: int = 0, confidence: bool = True
) -> np.ndarray:
    """``(n, n_frames, 17, 3 or 2)`` float64 segments of people walking, in pixels."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[None, :]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    speed = rng.uniform(0.35, 0.5, size=(n, 1))
    amp = rng.uniform(0.10, 0.14, size=(n, 1))
    angle = phase + speed * t  # (n, T)
    pose = np.broadcast_to(_TEMPLATE, (n, n_frames, 17, 2)).copy()
    for j, (sign, factor) in _SWING.items():
        pose[:, :, j, 0] += sign * factor * amp * np.sin(angle)
        pose[:, :, j, 1] -= 0.3 * factor * amp * np.abs(np.cos(angle))
    pose += rng.normal(scale=0.004, size=pose.shape)
    height = rng.uniform(80, 200, size=(n, 1, 1, 1))
    offset = rng.uniform(100, 900, size=(n, 1, 1, 2))
    xy = pose * height + offset
    if not confidence:
        return xy
    conf = rng.uniform(0.6, 1.0, size=(n, n_frames, 17, 1))
    return np.concatenate([xy, conf], axis=-1)


def limb_swapped(X: np.ndarray) -> np.ndarray:
    """Anomalies: wrists and ankles trade places (arms raised where feet should be)."""
    out = X.copy()
    out[:, :, [9, 10, 15, 16]] = X[:, :, [15, 16, 9, 10]]
    return out


def with_standardiser(det, mean: float, std: float):
    """A copy of a fitted detector whose per-joint statistics are ``mean`` and ``std``.

    With mean 0 and std 1 a joint's standardised score is its NLL share itself, and
    with std 2 half of it: tests then know the value of ``z`` without recomputing it
    the way the code does.
    """
    import copy

    out = copy.deepcopy(det)
    out.joint_nll_mean_ = np.full_like(det.joint_nll_mean_, mean)
    out.joint_nll_std_ = np.full_like(det.joint_nll_std_, std)
    return out
