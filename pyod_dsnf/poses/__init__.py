"""Per-person pose tracks: read them, fill their gaps, cut them into segments (docs/data.md)."""

from pyod_dsnf.poses.gaps import GapReport, fill_gaps
from pyod_dsnf.poses.tracks import (
    MAX_INDEX,
    TRACK_FILE_SUFFIX,
    Clip,
    Track,
    clip_id_from_path,
    load_tracks,
)
from pyod_dsnf.poses.windows import Segments, segment_tracks

__all__ = [
    "MAX_INDEX",
    "TRACK_FILE_SUFFIX",
    "Clip",
    "GapReport",
    "Segments",
    "Track",
    "clip_id_from_path",
    "fill_gaps",
    "load_tracks",
    "segment_tracks",
]
