"""Fuzzing the pose-estimator loaders: every input loads or raises a ValueError naming the file.

Documents shaped like each format (AlphaPose detections, MMPose frames, OpenPose frames)
with random values in every field: numbers, huge ints, NaN, strings, nulls, bools, nested
lists, wrong lengths. Whatever loads must then pass through gap filling and windowing.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyod_dsnf.poses import fill_gaps, segment_tracks
from pyod_dsnf.poses.formats import load_poses

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalar = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.integers(-(2**70), 2**70),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
value = st.one_of(scalar, st.lists(scalar, max_size=3))


def numbers(n_options):
    """A list of numbers of a plausible length, sometimes with a wrong value in it."""
    return st.sampled_from(n_options).flatmap(
        lambda n: st.lists(
            st.one_of(st.floats(0, 2000, width=32), value), min_size=n, max_size=n
        )
    )


def by_index(frames, keypoints):
    return np.arange(len(frames), dtype=np.int64) % 3


def _check(path: Path, fmt: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            clip = load_poses(path, format=fmt, tracker=by_index)
    except ValueError as exc:
        assert str(path) in str(exc), str(exc)
        return
    filled, _ = fill_gaps(clip, max_gap=2)
    seg = segment_tracks(filled, seg_len=2, pad_short=True)
    assert np.isfinite(seg.X[..., :2]).all()


alphapose_det = st.fixed_dictionaries(
    {"image_id": st.one_of(st.from_regex(r"\A[0-9]{1,3}\.jpg\Z"), value),
     "keypoints": numbers([51, 78, 50])},
    optional={"score": value, "idx": value},
)  # fmt: skip


@pytest.mark.slow
@FUZZ
@given(st.lists(alphapose_det, max_size=5))
def test_fuzz_alphapose(tmp_path, dets):
    f = tmp_path / "alphapose-results.json"
    f.write_text(json.dumps(dets))
    _check(f, "alphapose")


instance = st.fixed_dictionaries(
    {"keypoints": st.one_of(st.lists(st.lists(st.floats(0, 900), min_size=2, max_size=2),
                                     min_size=17, max_size=17), value),
     "keypoint_scores": numbers([17, 16])},
    optional={"bbox_score": value},
)  # fmt: skip
frame = st.fixed_dictionaries(
    {"frame_id": st.one_of(st.integers(0, 5), value), "instances": st.lists(instance, max_size=3)}
)


@FUZZ
@given(st.lists(frame, max_size=4), st.booleans())
def test_fuzz_mmpose(tmp_path, frames, demo):
    f = tmp_path / "walk.json"
    f.write_text(json.dumps({"meta_info": {}, "instance_info": frames} if demo else frames))
    _check(f, "mmpose")


person = st.fixed_dictionaries(
    {"pose_keypoints_2d": numbers([75, 54, 45])}, optional={"person_id": value}
)


@FUZZ
@given(st.lists(st.lists(person, max_size=3), min_size=1, max_size=3))
def test_fuzz_openpose(tmp_path, frames):
    folder = tmp_path / "op"
    folder.mkdir(exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    for i, people in enumerate(frames):
        (folder / f"v_{i:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": people})
        )
    _check(folder, "openpose")
