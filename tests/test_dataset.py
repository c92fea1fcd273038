import warnings

import numpy as np
import pytest

from pyod_dsnf.datasets import load_dataset, load_mask
from tests._pose_files import write_tracks

SUFFIX = "_alphapose_tracked_person.json"


def _layout(root, *, masks=None):
    for sub in ("pose/train", "pose/test", "gt/test_frame_mask"):
        (root / sub).mkdir(parents=True)
    write_tracks(root / "pose/train" / f"01_001{SUFFIX}", {"0": list(range(30))})
    write_tracks(root / "pose/test" / f"01_0002{SUFFIX}", {"0": [3, 4, 5], "2": [10, 11]}, pad=3)
    for cid, mask in (masks or {"01_0002": np.r_[np.zeros(8), np.ones(5)]}).items():
        np.save(root / "gt/test_frame_mask" / f"{cid}.npy", mask)
    return root


def test_layout_round_trip(tmp_path):
    ds = load_dataset(_layout(tmp_path))
    assert [c.clip_id for c in ds.train] == ["01_001"]
    assert [c.clip_id for c in ds.test] == ["01_0002"]
    assert ds.masks["01_0002"].dtype == np.int8 and ds.n_test_frames == 13
    assert ds.n_anomalous_frames == 5
    assert [len(t) for t in ds.test[0].tracks] == [3, 2]


def test_mask_shorter_than_posed_frames_raises(tmp_path):
    _layout(tmp_path, masks={"01_0002": np.zeros(11)})
    with pytest.raises(ValueError, match=r"01_0002\.npy: mask has 11 frames but .* up to frame 11"):
        load_dataset(tmp_path)


def test_missing_mask_raises_and_mask_without_poses_warns(tmp_path):
    _layout(tmp_path, masks={"01_0009": np.zeros(5)})
    with pytest.raises(ValueError, match=r"no mask for test clip\(s\) \['01_0002'\]"):
        load_dataset(tmp_path)
    np.save(tmp_path / "gt/test_frame_mask/01_0002.npy", np.zeros(20))
    with pytest.warns(UserWarning, match="1 mask"):
        ds = load_dataset(tmp_path)
    assert [c.clip_id for c in ds.test] == ["01_0002", "01_0009"]
    assert ds.test[1].tracks == [] and ds.n_test_frames == 25


@pytest.mark.parametrize(
    ("mask", "match"),
    [(np.zeros((3, 4)), "must be 1-D"), (np.array([0, 2, 1]), "only 0 and 1")],
)
def test_bad_masks_raise(tmp_path, mask, match):
    np.save(tmp_path / "m.npy", mask)
    with pytest.raises(ValueError, match=f"m.npy: .*{match}"):
        load_mask(tmp_path / "m.npy")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match=r"bad\.npy: not a readable \.npy"):
        load_mask(tmp_path / "bad.npy")


def test_missing_folder_raises(tmp_path):
    with pytest.raises(ValueError, match="has no folder 'pose/train'"):
        load_dataset(tmp_path)


@pytest.mark.slow
def test_poselift(poselift_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(poselift_path)
    assert len(ds.train) == 104 and len(ds.test) == 47
    assert ds.n_test_frames == 4846 and ds.n_anomalous_frames == 1534
    for clip in ds.test:
        assert ds.masks[clip.clip_id].shape[0] >= clip.last_frame + 1
    # PoseLift stores NaN confidences for some whole poses; they are counted and warned about
    assert sum(c.n_nan_confidence for c in ds.train + ds.test) == 35683 + 2550
    assert len(caught) == 2 and all("NaN joint confidences" in str(w.message) for w in caught)
    assert sum(c.n_person_frames for c in ds.test) == 4620
