"""Per-person pose tracks: read them (any registered format), fill their gaps, cut them into
segments (docs/data.md), also causally, as a live scorer sees them (``poses.causal``)."""

from pyod_dsnf.poses.causal import causal_segments
from pyod_dsnf.poses.gaps import GapReport, fill_gaps
from pyod_dsnf.poses.sources import (
    DEFAULT_FORMAT,
    PoseFormat,
    get_format,
    load_folder,
    pose_formats,
    register_format,
)
from pyod_dsnf.poses.tracks import (
    MAX_INDEX,
    TRACK_FILE_SUFFIX,
    Clip,
    Track,
    clip_id_from_path,
    load_tracks,
    tracked_frames,
)
from pyod_dsnf.poses.windows import Segments, segment_tracks

__all__ = [
    "DEFAULT_FORMAT",
    "MAX_INDEX",
    "TRACK_FILE_SUFFIX",
    "Clip",
    "GapReport",
    "PoseFormat",
    "Segments",
    "Track",
    "causal_segments",
    "clip_id_from_path",
    "fill_gaps",
    "get_format",
    "load_folder",
    "load_tracks",
    "pose_formats",
    "register_format",
    "segment_tracks",
    "tracked_frames",
]
