"""One format vocabulary: `--format auto` and the same choices wherever poses are read."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from pyod_dsnf.cli.main import build_parser
from pyod_dsnf.datasets import make_pose_tracks, save_pose_dataset
from pyod_dsnf.poses import load_folder, pose_formats
from pyod_dsnf.poses.sources import find_sources

BODY25 = Path(__file__).parent / "data" / "formats" / "openpose_body25"
HAS_NORFAIR = importlib.util.find_spec("norfair") is not None


def _format_actions() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: next((a for a in p._actions if a.dest == "fmt"), None)
            for name, p in sub.choices.items()}  # fmt: skip


def test_every_pose_reading_subcommand_offers_the_same_formats():
    actions = _format_actions()
    want = ("auto", *(f for f in pose_formats() if f != "auto"))
    for cmd in ("fit", "score", "render", "replay", "stream", "benchmark"):
        a = actions[cmd]
        assert a is not None and tuple(a.choices) == want and a.default == "auto", cmd
        assert ", ".join(want) in a.help, cmd  # the choices are in --help


def test_an_openpose_clip_folder_is_accepted_directly():
    assert find_sources(BODY25, fmt="openpose") == [BODY25]
    assert find_sources(BODY25, fmt="auto") == [BODY25]


@pytest.mark.skipif(not HAS_NORFAIR, reason="OpenPose ids come from the Norfair tracker")
def test_auto_reads_an_openpose_clip_folder_as_openpose():
    (auto,) = load_folder(BODY25, fmt="auto")
    (named,) = load_folder(BODY25, fmt="openpose")
    assert auto.clip_id == named.clip_id == BODY25.name
    for a, b in zip(auto.tracks, named.tracks, strict=True):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


def test_auto_reads_tracked_person_files_as_tracked(tmp_path):
    root = save_pose_dataset(make_pose_tracks(2, 1, n_frames=(80, 100), random_state=0), tmp_path)
    folder = root / "pose" / "train"
    auto, tracked = load_folder(folder, fmt="auto"), load_folder(folder, fmt="tracked")
    assert [c.clip_id for c in auto] == [c.clip_id for c in tracked]
    for a, b in zip(auto, tracked, strict=True):
        for s, t in zip(a.tracks, b.tracks, strict=True):
            np.testing.assert_array_equal(s.keypoints, t.keypoints)
