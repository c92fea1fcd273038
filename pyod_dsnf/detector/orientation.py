"""The body's orientation: its up direction, estimated from training poses, and the canonical frame.

Pose tools and cameras disagree on which image axis is "up": a camera mounted
sideways, or a converter that swaps x and y (PoseLift stores people lying along
x), hands the detector bodies rotated by some angle. The flow does not care
about a rotation as such, but two of its parts do: the coupling layers split a
joint's (x, y) into two halves that condition each other, and ``augment=True``
mirrors x, which is a left/right mirror only when x is the body's horizontal.

At fit time :func:`estimate_up` measures the direction from the legs to the
head over every training frame; :func:`canonical_rotation` is the rotation that
turns it to ``(0, -1)``, the image convention (y grows downwards, so a standing
person's head has the smaller y). Every prepared segment is rotated by it
(:func:`rotate_segments`) before training and before scoring, so the flow always
sees upright bodies, whatever the camera. See docs/method.md, "Orientation".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pyod_dsnf.poses.skeletons import SkeletonGraph

__all__ = [
    "IMAGE_UP",
    "body_axis_joints",
    "canonical_rotation",
    "canonical_segments",
    "detector_rotation",
    "estimate_up",
    "rotate_points",
    "rotate_segments",
    "up_direction",
]

#: The up direction of the canonical frame: image convention, y grows downwards.
IMAGE_UP = (0.0, -1.0)

#: Segments handled at a time in float64 (bounded memory on long inputs).
_CHUNK = 4096

# Joint names (substrings, lower case) of the upper body and of the legs.
_UPPER = ("nose", "eye", "ear", "neck", "head", "shoulder")
_LOWER = ("hip", "knee", "ankle", "foot", "heel", "toe")


def body_axis_joints(graph: SkeletonGraph) -> tuple[np.ndarray, np.ndarray] | None:
    """Indices of the layout's upper-body and leg joints, by name; None when it has no such names.

    Upper: nose, eyes, ears, neck, head, shoulders. Legs: hips, knees, ankles,
    feet. A layout without names (a custom :class:`SkeletonGraph` with empty
    ``joint_names``) or without both groups gives None.
    """
    names = [str(n).lower() for n in graph.joint_names]
    upper = [i for i, n in enumerate(names) if any(k in n for k in _UPPER)]
    lower = [i for i, n in enumerate(names) if any(k in n for k in _LOWER)]
    if not upper or not lower:
        return None
    return np.asarray(upper), np.asarray(lower)


def estimate_up(
    data: np.ndarray, valid: np.ndarray | None, graph: SkeletonGraph
) -> np.ndarray:
    """The body's up direction, a unit vector ``(2,)`` in the coordinates of ``data``.

    For every frame in which at least one upper-body joint and one leg joint
    are valid, the unit vector from the mean of the valid leg joints to the
    mean of the valid upper-body joints is one vote; the estimate is the mean
    of the votes, normalised. The mean of unit vectors is used (not a
    per-axis median) because it turns exactly with the data: rotating every
    pose by an angle rotates the estimate by the same angle, and each frame's
    vote weighs the same however large the person is in the image.

    Parameters
    ----------
    data : ndarray of shape (n, 2, T, V)
        Prepared segments (:func:`pyod_dsnf._validation.prepare_segments`).
    valid : ndarray of bool, shape (n, T, V), or None
        Joints that were observed (confidence > 0); None: all.
    graph : SkeletonGraph
        The layout; its joint names say which joints are head and legs.

    Returns
    -------
    ndarray of shape (2,), float64
        :data:`IMAGE_UP` (no rotation) when the layout has no named head and
        leg joints, no frame holds both, or the votes cancel out.
    """
    default = np.asarray(IMAGE_UP, dtype=np.float64)
    groups = body_axis_joints(graph)
    if groups is None or data.shape[0] == 0:
        return default
    total, count = np.zeros(2), 0
    for start in range(0, data.shape[0], _CHUNK):  # bounded float64 memory
        part = slice(start, start + _CHUNK)
        votes = _votes(data[part], None if valid is None else valid[part], *groups)
        total += votes.sum(axis=0)
        count += len(votes)
    norm = float(np.hypot(total[0], total[1]))
    if count == 0 or not np.isfinite(norm) or norm == 0.0:
        return default
    return total / norm


def _votes(data: np.ndarray, valid: np.ndarray | None, upper: np.ndarray,
           lower: np.ndarray) -> np.ndarray:  # fmt: skip
    """Unit vectors ``(m, 2)`` from legs to head, one per frame holding both groups."""
    head_xy = data[..., upper].astype(np.float64)  # (n, 2, T, |upper|)
    feet_xy = data[..., lower].astype(np.float64)
    if valid is None:
        w_up = np.ones(head_xy.shape[:1] + head_xy.shape[2:])
        w_lo = np.ones(feet_xy.shape[:1] + feet_xy.shape[2:])
    else:
        w_up, w_lo = valid[..., upper].astype(np.float64), valid[..., lower].astype(np.float64)
    n_up, n_lo = w_up.sum(axis=-1), w_lo.sum(axis=-1)  # (n, T)
    both = (n_up > 0) & (n_lo > 0)
    head = (head_xy * w_up[:, None]).sum(axis=-1) / np.where(both, n_up, 1.0)[:, None]
    feet = (feet_xy * w_lo[:, None]).sum(axis=-1) / np.where(both, n_lo, 1.0)[:, None]
    vec = head - feet  # (n, 2, T)
    length = np.hypot(vec[:, 0], vec[:, 1])
    keep = both & (length > 0) & np.isfinite(length)
    return np.stack([vec[:, 0][keep], vec[:, 1][keep]], axis=1) / length[keep][:, None]


def canonical_rotation(up: np.ndarray) -> np.ndarray:
    """The 2x2 rotation ``R`` (float64) with ``R @ up = (0, -1)``: ``up`` turned to image up.

    ``up`` must be a unit vector (as :func:`estimate_up` returns); ``(0, -1)``
    gives the identity exactly.
    """
    ux, uy = float(up[0]), float(up[1])
    return np.array([[-uy, ux], [-ux, -uy]], dtype=np.float64) + 0.0  # + 0.0: no -0.0 entries


def rotate_segments(data: np.ndarray | torch.Tensor, rotation: np.ndarray) -> Any:
    """Prepared segments ``(n, 2, T, V)`` turned by ``rotation`` (2x2), about the origin.

    The arithmetic runs in float64 and the result has the dtype (and, for a torch
    tensor, the device) of ``data``. The identity returns ``data`` itself (no copy),
    so models whose frame needs no turn score exactly as without this step.
    """
    rotation = np.asarray(rotation, dtype=np.float64)
    if np.array_equal(rotation, np.eye(2)):
        return data
    if isinstance(data, torch.Tensor):  # prepared on a GPU
        x, y = data[:, 0].double(), data[:, 1].double()
        r = rotation.tolist()
        turned = (r[0][0] * x + r[0][1] * y, r[1][0] * x + r[1][1] * y)
        return torch.stack(turned, dim=1).to(data.dtype)
    out = np.empty_like(data)
    for start in range(0, data.shape[0], _CHUNK):  # bounded float64 memory
        part = slice(start, start + _CHUNK)
        x, y = data[part, 0].astype(np.float64), data[part, 1].astype(np.float64)
        out[part, 0] = rotation[0, 0] * x + rotation[0, 1] * y
        out[part, 1] = rotation[1, 0] * x + rotation[1, 1] * y
    return out


def canonical_segments(
    data: np.ndarray, X: np.ndarray, graph: SkeletonGraph
) -> tuple[np.ndarray, np.ndarray]:
    """Fit-time step: the up direction of prepared segments and the segments turned upright.

    Parameters
    ----------
    data : ndarray of shape (n, 2, T, V)
        Prepared segments.
    X : ndarray of shape (n, T, V, C)
        The checked segments they were prepared from (their confidences, for C = 3,
        say which joints were observed).
    graph : SkeletonGraph

    Returns
    -------
    (segments, up)
        ``data`` turned by ``canonical_rotation(up)`` and :func:`estimate_up`'s ``up``.
    """
    valid = X[..., 2] > 0 if X.shape[-1] == 3 else None
    up = estimate_up(data, valid, graph)
    return rotate_segments(data, canonical_rotation(up)), up


def rotate_points(xy: np.ndarray, rotation: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Points ``(..., 2)`` turned by ``rotation`` about ``centre`` ``(2,)``; float64.

    For drawing: poses in pixel coordinates turned upright about a point.
    """
    rotation = np.asarray(rotation, dtype=np.float64)
    rel = np.asarray(xy, dtype=np.float64) - centre
    return rel @ rotation.T + centre


def detector_rotation(detector: Any) -> np.ndarray:
    """The 2x2 rotation that turns a fitted detector's ``up_direction_`` to image up (float64).

    The identity for a detector pickled before the orientation existed (no
    ``up_direction_``): it scores as it did.
    """
    return canonical_rotation(up_direction(detector))


def up_direction(detector: Any) -> np.ndarray:
    """A fitted detector's ``up_direction_`` (float64), :data:`IMAGE_UP` (no turn) for one
    pickled before the orientation existed."""
    return np.asarray(getattr(detector, "up_direction_", IMAGE_UP), dtype=np.float64)
