"""Skeleton layouts and the partitioned adjacency used by the graph layers.

A :class:`SkeletonGraph` names the joints of a pose format, its bones (edges),
the torso joints that count as the body's centre, and the left/right joint
pairs used for mirroring. :meth:`SkeletonGraph.adjacency` returns the ST-GCN
"spatial" partition of the adjacency (self, towards the centre, away from the
centre), normalised so every partition sums incoming messages as an average.

Built-in layouts: ``"coco17"`` (COCO / HRNet / AlphaPose, 17 joints) and
``"openpose18"`` (OpenPose COCO-18, with a neck joint). Any other skeleton is a
``SkeletonGraph(name=..., n_joints=..., edges=..., center=...)``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pyod_dsnf._checks import check_int

__all__ = [
    "COCO17",
    "LAYOUTS",
    "OPENPOSE18",
    "SkeletonGraph",
    "coco17_to_openpose18",
    "get_layout",
]


@dataclass(frozen=True)
class SkeletonGraph:
    """An undirected skeleton graph.

    Parameters
    ----------
    name : str
        Short name of the layout, used in error messages.
    n_joints : int
        Number of joints V.
    edges : tuple of (int, int)
        Bones as pairs of joint indices in ``[0, n_joints)``. The graph must be
        connected.
    center : tuple of int
        Joints that form the body's centre (torso). The spatial partition
        measures each joint's hop distance to the nearest of them.
    flip_pairs : tuple of (int, int), default=()
        Left/right joint pairs swapped by a horizontal mirror.
    joint_names : tuple of str, default=()
        Optional joint names, for documentation and plots.
    """

    name: str
    n_joints: int
    edges: tuple[tuple[int, int], ...]
    center: tuple[int, ...]
    flip_pairs: tuple[tuple[int, int], ...] = ()
    joint_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        check_int("n_joints", self.n_joints, 1, expected="a positive integer")
        object.__setattr__(self, "edges", tuple((int(a), int(b)) for a, b in self.edges))
        object.__setattr__(self, "center", tuple(int(c) for c in self.center))
        object.__setattr__(self, "flip_pairs", tuple((int(a), int(b)) for a, b in self.flip_pairs))
        for argname, pairs in (("edges", self.edges), ("flip_pairs", self.flip_pairs)):
            for a, b in pairs:
                if not (0 <= a < self.n_joints and 0 <= b < self.n_joints):
                    raise ValueError(
                        f"{argname} of layout {self.name!r} contains ({a}, {b}) but joints "
                        f"must lie in [0, {self.n_joints})"
                    )
                if a == b:
                    raise ValueError(
                        f"{argname} of layout {self.name!r} contains a self pair ({a}, {b})"
                    )
        if not self.center:
            raise ValueError(f"center of layout {self.name!r} must name at least one joint")
        for c in self.center:
            if not 0 <= c < self.n_joints:
                raise ValueError(
                    f"center of layout {self.name!r} contains {c} but joints must lie in "
                    f"[0, {self.n_joints})"
                )
        if self.joint_names and len(self.joint_names) != self.n_joints:
            raise ValueError(
                f"joint_names of layout {self.name!r} has {len(self.joint_names)} names "
                f"but n_joints={self.n_joints}"
            )
        flipped = [j for pair in self.flip_pairs for j in pair]
        if len(set(flipped)) != len(flipped):
            raise ValueError(f"flip_pairs of layout {self.name!r} uses a joint twice")
        if np.isinf(self.hop_distance()).any():
            raise ValueError(f"the skeleton graph of layout {self.name!r} is not connected")

    def neighbors(self) -> list[list[int]]:
        """Adjacency lists (without self loops)."""
        nbrs: list[list[int]] = [[] for _ in range(self.n_joints)]
        for a, b in self.edges:
            if b not in nbrs[a]:
                nbrs[a].append(b)
                nbrs[b].append(a)
        return nbrs

    def hop_distance(self) -> np.ndarray:
        """Hop distance of every joint to the nearest centre joint (inf if unreachable)."""
        dist = np.full(self.n_joints, np.inf)
        nbrs = self.neighbors()
        queue = deque(self.center)
        for c in self.center:
            dist[c] = 0
        while queue:
            i = queue.popleft()
            for j in nbrs[i]:
                if dist[j] == np.inf:
                    dist[j] = dist[i] + 1
                    queue.append(j)
        return dist

    def adjacency(self) -> np.ndarray:
        """Spatial-partition adjacency of shape ``(3, V, V)``, float64.

        ``A[k, i, j]`` is the weight with which joint ``j`` sends to joint ``i``
        in partition ``k``: 0 = the joint itself, 1 = neighbours closer to the
        centre (centripetal), 2 = neighbours at the same or a larger distance
        (centrifugal). Each receiving joint's weights are divided by its degree
        (self loop included), so summing the three partitions gives the
        row-normalised adjacency with self loops.
        """
        v = self.n_joints
        dist = self.hop_distance()
        a = np.zeros((3, v, v))
        nbrs = self.neighbors()
        for i in range(v):
            a[0, i, i] = 1.0
            for j in nbrs[i]:
                a[1 if dist[j] < dist[i] else 2, i, j] = 1.0
        degree = a.sum(axis=(0, 2))
        return a / degree[None, :, None]

    def flip_index(self) -> np.ndarray:
        """Joint permutation of a horizontal mirror (left and right swapped)."""
        perm = np.arange(self.n_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


_COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

COCO17 = SkeletonGraph(
    name="coco17",
    n_joints=17,
    edges=(
        (0, 1), (0, 2), (1, 3), (2, 4),  # face
        (0, 5), (0, 6),  # head to shoulders
        (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),  # arms
        (5, 11), (6, 12), (11, 12),  # torso
        (11, 13), (13, 15), (12, 14), (14, 16),  # legs
    ),
    center=(5, 6, 11, 12),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    joint_names=_COCO17_NAMES,
)  # fmt: skip

_OPENPOSE18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee",
    "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye",
    "left_eye", "right_ear", "left_ear",
)  # fmt: skip

OPENPOSE18 = SkeletonGraph(
    name="openpose18",
    n_joints=18,
    edges=(
        (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8),
        (11, 5), (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14),
    ),
    center=(1,),
    flip_pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)),
    joint_names=_OPENPOSE18_NAMES,
)  # fmt: skip

LAYOUTS: dict[str, SkeletonGraph] = {"coco17": COCO17, "openpose18": OPENPOSE18}

# OpenPose-18 joint k is COCO-17 joint _COCO_FOR_OPENPOSE[k]; the neck (k = 1) is
# the mean of the two shoulders and has no COCO counterpart.
_COCO_FOR_OPENPOSE = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)


def get_layout(layout: str | SkeletonGraph) -> SkeletonGraph:
    """Return the :class:`SkeletonGraph` named by ``layout`` (or ``layout`` itself)."""
    if isinstance(layout, SkeletonGraph):
        return layout
    if isinstance(layout, str) and layout in LAYOUTS:
        return LAYOUTS[layout]
    raise ValueError(f"layout must be one of {sorted(LAYOUTS)} or a SkeletonGraph, got {layout!r}")


def layout_for_joints(n_joints: int) -> str | None:
    """Name of the built-in layout with ``n_joints`` joints, or None."""
    for name, graph in LAYOUTS.items():
        if graph.n_joints == n_joints:
            return name
    return None


def coco17_to_openpose18(keypoints: np.ndarray) -> np.ndarray:
    """Convert COCO-17 keypoints to the OpenPose-18 order.

    Parameters
    ----------
    keypoints : ndarray of shape (..., 17, C)
        COCO-17 joints on the second-to-last axis; C >= 2 (x, y[, confidence]).

    Returns
    -------
    ndarray of shape (..., 18, C)
        The neck is the mean of the two shoulders (its confidence, when C = 3,
        is the smaller of the two shoulders' confidences).
    """
    kp = np.asarray(keypoints)
    if kp.ndim < 2 or kp.shape[-2] != 17:
        raise ValueError(
            f"keypoints must have shape (..., 17, C) in the coco17 order, got shape {kp.shape}"
        )
    index = np.array([max(i, 0) for i in _COCO_FOR_OPENPOSE])
    out = kp[..., index, :].astype(np.result_type(kp.dtype, np.float32), copy=True)
    shoulders = kp[..., [5, 6], :].astype(out.dtype)
    out[..., 1, :] = shoulders.mean(axis=-2)
    if kp.shape[-1] >= 3:
        out[..., 1, 2:] = shoulders[..., 2:].min(axis=-2)
    return out
