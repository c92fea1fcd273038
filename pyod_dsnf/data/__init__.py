"""Pose tracks in: loaders, gap handling and windowing (see docs/data.md)."""

from pyod_dsnf.data.dataset import PoseDataset, load_dataset, load_mask
from pyod_dsnf.data.gaps import GapReport, fill_gaps
from pyod_dsnf.data.tracks import (
    MAX_INDEX,
    TRACK_FILE_SUFFIX,
    Clip,
    Track,
    clip_id_from_path,
    load_tracks,
)
from pyod_dsnf.data.windows import Segments, segment_tracks

__all__ = [
    "MAX_INDEX",
    "TRACK_FILE_SUFFIX",
    "Clip",
    "GapReport",
    "PoseDataset",
    "Segments",
    "Track",
    "clip_id_from_path",
    "fill_gaps",
    "load_dataset",
    "load_mask",
    "load_tracks",
    "segment_tracks",
]
