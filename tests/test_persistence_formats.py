"""Saved files of every format version load and score as they did, and bad files say why.

The files in tests/data/formats were written by the code of each format
(tests/data/formats/make_format_files.py says which commit) and scored with
main's code before the thin-estimator refactor (``*_main.npy``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector.orientation import detector_rotation
from pyod_dsnf.detector.persistence import FORMAT_VERSION, DetectorFileError, read_detector_file
from tests._tolerances import assert_close_across_machines, detector_score_atol

DATA = Path(__file__).parent / "data" / "formats"
FILES = sorted(p.stem for p in DATA.glob("v*.dsnf"))

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def segments() -> np.ndarray:
    return np.load(DATA / "segments.npy")


def test_every_format_version_has_fixtures():
    assert {name.split("_")[0] for name in FILES} == {f"v{v}" for v in range(1, FORMAT_VERSION)}


@pytest.mark.parametrize("name", FILES)
def test_old_files_score_as_main_scored_them(name, segments):
    det = DSNFDetector.load(DATA / f"{name}.dsnf")
    scores = det.decision_function(segments)
    # The flow's float32 operations were reordered since e6fc042 (issue 10) and the
    # files were scored on another CPU: the scores agree up to float32 rounding,
    # bounded from the size of the computation (tests/_tolerances.py).
    atol = detector_score_atol(det, det.joint_nll(segments))
    assert_close_across_machines(scores, np.load(DATA / f"{name}_main.npy"), atol)
    # and as the code that wrote the file did
    assert_close_across_machines(scores, np.load(DATA / f"{name}_written.npy"), atol)
    version = int(name[1])
    assert det.anomaly_score_ == ("nll" if version < 3 else "joint")


@pytest.mark.parametrize("name", [f for f in FILES if int(f[1]) < 4])
def test_pyod_state_is_recomputed_on_load_and_equals_the_stored_one(name):
    """Formats 1-3 stored threshold_, _mu, _sigma and labels; they are now recomputed."""
    det = DSNFDetector.load(DATA / f"{name}.dsnf")
    payload = torch.load(DATA / f"{name}.dsnf", weights_only=True)
    stored = json.loads(payload["fitted"])
    assert det.threshold_ == stored["threshold_"]
    assert det._mu == stored["_mu"] and det._sigma == stored["_sigma"]
    np.testing.assert_array_equal(det.labels_, payload["labels"].numpy())
    assert det.labels_.sum() > 0


@pytest.mark.parametrize("name", FILES)
def test_old_files_resaved_in_the_current_format_score_the_same(name, segments, tmp_path):
    det = DSNFDetector.load(DATA / f"{name}.dsnf")
    det.save(tmp_path / "new.dsnf")
    saved = read_detector_file(tmp_path / "new.dsnf")
    assert saved.format_version == FORMAT_VERSION
    assert not {"threshold_", "_mu", "_sigma", "_classes", "labels_"} & set(saved.fitted)
    again = DSNFDetector.load(tmp_path / "new.dsnf")
    again_scores = again.decision_function(segments)
    np.testing.assert_array_equal(again_scores, det.decision_function(segments))
    assert again.threshold_ == det.threshold_ and again.get_params() == det.get_params()


@pytest.mark.parametrize("name", FILES)
def test_files_before_format_5_load_without_a_turn(name):
    """Formats 1-4 predate the body's orientation: their segments are not turned."""
    det = DSNFDetector.load(DATA / f"{name}.dsnf")
    np.testing.assert_array_equal(det.up_direction_, [0.0, -1.0])
    np.testing.assert_array_equal(detector_rotation(det), np.eye(2))


# ----------------------------------------------------------- what is wrong with a file
@pytest.fixture(scope="module")
def raw() -> bytes:
    return (DATA / "v3_dual.dsnf").read_bytes()


@pytest.mark.parametrize("fraction", [0.0005, 0.01, 0.3, 0.5, 0.9, 0.999])
def test_a_truncated_file_says_truncated(raw, tmp_path, fraction):
    path = tmp_path / "cut.dsnf"
    path.write_bytes(raw[: max(1, int(len(raw) * fraction))])
    with pytest.raises(DetectorFileError, match="truncated"):
        DSNFDetector.load(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "the file is empty"),
        (b"hello\nworld\n", r"not a pyod-dsnf model \(a text file"),
        (b'{"format": "pyod-dsnf-detector"}', r"not a pyod-dsnf model \(a text file"),
        (bytes(range(256)), r"not a pyod-dsnf model \(starts with"),
    ],
)
def test_files_that_are_not_models_say_so(tmp_path, content, match):
    path = tmp_path / "x.dsnf"
    path.write_bytes(content)
    with pytest.raises(DetectorFileError, match=match):
        DSNFDetector.load(path)


def test_other_zip_and_torch_files_are_not_models(tmp_path):
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    with pytest.raises(DetectorFileError, match=r"not one written by torch\.save"):
        DSNFDetector.load(tmp_path / "arrays.npz")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "weights.pt")
    with pytest.raises(DetectorFileError, match="without the format marker"):
        DSNFDetector.load(tmp_path / "weights.pt")


def test_a_newer_version_says_unsupported_version(raw, tmp_path):
    payload = torch.load(DATA / "v3_dual.dsnf", weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1  # refused before its checksum is read
    torch.save(payload, tmp_path / "newer.dsnf")
    with pytest.raises(DetectorFileError, match=r"unsupported version: .* upgrade pyod-dsnf"):
        DSNFDetector.load(tmp_path / "newer.dsnf")


def test_a_flipped_byte_in_a_zip_member_says_damaged(raw, tmp_path):
    damaged = bytearray(raw)
    pos = raw.index(b"data.pkl") + 200  # inside the first member's data
    damaged[pos] ^= 0xFF
    (tmp_path / "flip.dsnf").write_bytes(bytes(damaged))
    with pytest.raises(DetectorFileError, match="damaged"):
        DSNFDetector.load(tmp_path / "flip.dsnf")


def test_persistence_imports_nothing_of_the_estimator():
    import ast

    import pyod_dsnf.detector.persistence as persistence

    tree = ast.parse(Path(persistence.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "hashlib", "json", "os", "tempfile", "warnings", "zipfile",
                        "dataclasses", "pathlib", "typing", "numpy", "torch",
                        "pyod_dsnf._checks", "pyod_dsnf._version",
                        "pyod_dsnf.poses.skeletons"}  # fmt: skip
