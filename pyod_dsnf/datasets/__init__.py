"""Synthetic pose-track data for demos and tests."""

from pyod_dsnf.datasets.synthetic import BEHAVIOURS, make_pose_tracks

__all__ = ["BEHAVIOURS", "make_pose_tracks"]
