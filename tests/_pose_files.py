"""Helpers that write small tracked-person JSON files for the loader tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def pose(seed: float, n_joints: int = 17) -> list[float]:
    """A deterministic flat [x, y, c] * n_joints list."""
    out = []
    for j in range(n_joints):
        out += [100.0 + seed + j, 200.0 + 2 * seed + j, 0.5 + 0.01 * j]
    return out


def write_tracks(
    path: Path,
    persons: dict[str, list[int]],
    *,
    pad: int = 0,
    score: float | None = None,
) -> Path:
    """Write persons -> frames with ``pose(frame + 1000 * k)`` keypoints."""
    data = {}
    for k, (pid, frames) in enumerate(persons.items()):
        data[pid] = {
            str(f).zfill(pad): {"keypoints": pose(f + 1000 * k), "scores": score} for f in frames
        }
    path.write_text(json.dumps(data))
    return path


def expected_keypoints(frames, k: int = 0) -> np.ndarray:
    return np.array([pose(f + 1000 * k) for f in frames], dtype=np.float32).reshape(-1, 17, 3)
