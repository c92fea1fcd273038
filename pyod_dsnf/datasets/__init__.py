"""Synthetic pose-track data for demos and tests, and writing a dataset to disk."""

from pyod_dsnf.datasets.export import save_pose_dataset, save_tracks
from pyod_dsnf.datasets.synthetic import BEHAVIOURS, make_pose_tracks

__all__ = ["BEHAVIOURS", "make_pose_tracks", "save_pose_dataset", "save_tracks"]
