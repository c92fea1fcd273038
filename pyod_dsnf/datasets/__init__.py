"""Labelled pose datasets: dataset folders on disk (PoseLift layout), synthetic data, export."""

from pyod_dsnf.datasets.export import save_pose_dataset, save_tracks
from pyod_dsnf.datasets.folder import PoseDataset, load_dataset, load_mask, load_masks
from pyod_dsnf.datasets.synthetic import BEHAVIOURS, make_pose_tracks

__all__ = [
    "BEHAVIOURS",
    "PoseDataset",
    "load_dataset",
    "load_mask",
    "load_masks",
    "make_pose_tracks",
    "save_pose_dataset",
    "save_tracks",
]
