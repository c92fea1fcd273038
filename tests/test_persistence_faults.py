"""Persistence faults: interrupted saves, damaged or foreign files, GPU-written models.

A user's trained model is never lost (an interrupted save leaves the old file)
and a damaged, foreign or newer file is refused with ValueError instead of
loading changed weights or crashing.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pyod_dsnf.detector.persistence as persistence
from pyod_dsnf import DSNFDetector
from tests._skeletons import walking_segments

T = 8
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return walking_segments(40, T, seed=0)


@pytest.fixture(scope="module")
def fitted(X) -> DSNFDetector:
    return DSNFDetector(
        n_flow_steps=2, hidden_channels=4, epochs=1, random_state=0, n_threads=1, device="cpu"
    ).fit(X)


class Saved:
    """A saved detector; its bytes stay out of hypothesis' failure reports."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = path.read_bytes()

    def __iter__(self):
        return iter((self.path, self.raw))

    def __repr__(self) -> str:
        return f"Saved({self.path.name}, {len(self.raw)} bytes)"


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory) -> Saved:
    path = tmp_path_factory.mktemp("saved") / "model.dsnf"
    fitted.save(path)
    return Saved(path)


# ----------------------------------------------------------- interrupted saves
@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, OSError])
def test_interrupted_save_keeps_the_old_file(fitted, X, tmp_path, monkeypatch, interrupt):
    path = tmp_path / "model.dsnf"
    fitted.save(path)
    before = path.read_bytes()
    real_save = torch.save

    def half_then_fail(obj, fh, *args, **kwargs):
        real_save(obj, fh, *args, **kwargs)
        fh.truncate(fh.tell() // 2)  # half of the bytes on disk, then the failure
        raise interrupt("No space left on device")

    monkeypatch.setattr(persistence.torch, "save", half_then_fail)
    with pytest.raises(interrupt):
        fitted.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.dsnf"]  # the temporary file is removed
    loaded = DSNFDetector.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X[:4]), fitted.decision_function(X[:4]))


@pytest.mark.slow
def test_save_killed_mid_write_keeps_the_old_file(fitted, X, tmp_path):
    """SIGKILL half-way through writing (no cleanup can run): the old file survives."""
    path = tmp_path / "model.dsnf"
    fitted.save(path)
    before = path.read_bytes()
    pickle_path = tmp_path / "det.pkl"
    pickle_path.write_bytes(pickle.dumps(fitted))
    script = textwrap.dedent(f"""
        import os, pickle, signal, torch
        import pyod_dsnf.detector.persistence as persistence
        real_save = torch.save
        def half_then_die(obj, fh, *a, **k):
            real_save(obj, fh, *a, **k)
            fh.truncate(fh.tell() // 2)
            fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        persistence.torch.save = half_then_die
        det = pickle.loads(open({str(pickle_path)!r}, "rb").read())
        det.save({str(path)!r})
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert path.read_bytes() == before
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".model.dsnf.")]
    assert len(leftovers) == 1  # a hidden .model.dsnf.*.tmp stays after a hard kill
    with pytest.raises(ValueError, match="not a readable"):
        DSNFDetector.load(tmp_path / leftovers[0])
    assert DSNFDetector.load(path).n_features_in_ == fitted.n_features_in_


def test_saved_file_permissions_follow_umask_and_are_kept_on_overwrite(fitted, tmp_path):
    old = os.umask(0o022)
    try:
        fitted.save(tmp_path / "new.dsnf")
        assert (tmp_path / "new.dsnf").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        (tmp_path / "shared.dsnf").write_bytes(b"old")
        os.chmod(tmp_path / "shared.dsnf", 0o664)
        fitted.save(tmp_path / "shared.dsnf")
        assert (tmp_path / "shared.dsnf").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_save_to_a_directory_is_a_clear_error(fitted, tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        fitted.save(tmp_path)


# ----------------------------------------------------------- damaged files
@FUZZ
@given(data=st.data())
def test_truncated_file_is_refused(saved, tmp_path, data):
    raw = saved.raw
    cut = data.draw(st.integers(0, len(raw) - 1))
    bad = tmp_path / "cut.dsnf"
    bad.write_bytes(raw[:cut])
    with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
        DSNFDetector.load(bad)


def _zip_regions(raw: bytes) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges ``[start, end)`` of a model file by role: what each member stores
    ("data"), the alignment padding torch puts in the local headers' extra field
    ("padding"), and the zip bookkeeping (local headers, central directory: "zip")."""
    regions: dict[str, list[tuple[int, int]]] = {"data": [], "padding": [], "zip": []}
    covered = 0
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
            start = info.header_offset
            name_len, extra_len = struct.unpack("<HH", raw[start + 26 : start + 30])
            extra = start + 30 + name_len
            data = extra + extra_len
            regions["zip"].append((start, extra))
            regions["padding"].append((extra, data))
            regions["data"].append((data, data + info.compress_size))
            covered = data + info.compress_size
    regions["zip"].append((covered, len(raw)))
    return {k: [(a, b) for a, b in v if b > a] for k, v in regions.items()}


def _flip(saved: Saved, tmp_path: Path, data, region: str) -> Path:
    start, end = data.draw(st.sampled_from(_zip_regions(saved.raw)[region]))
    damaged = bytearray(saved.raw)
    damaged[data.draw(st.integers(start, end - 1))] ^= data.draw(st.integers(1, 255))
    bad = tmp_path / "flip.dsnf"
    bad.write_bytes(bytes(damaged))
    return bad


@FUZZ
@given(data=st.data())
def test_flipped_byte_in_stored_data_is_refused(saved, tmp_path, data):
    """Before the checksum, 7% of single-byte flips loaded silently with changed scores."""
    with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
        DSNFDetector.load(_flip(saved, tmp_path, data, "data"))


@FUZZ
@given(data=st.data())
def test_flipped_byte_in_alignment_padding_is_harmless(saved, fitted, X, tmp_path, data):
    loaded = DSNFDetector.load(_flip(saved, tmp_path, data, "padding"))
    np.testing.assert_array_equal(loaded.decision_function(X[:4]), fitted.decision_function(X[:4]))


@FUZZ
@given(data=st.data())
def test_flipped_byte_in_zip_bookkeeping_is_refused_or_harmless(saved, fitted, X, tmp_path, data):
    """Zip headers hold fields that zipfile and torch check (signatures, sizes, CRCs,
    the compression method: refused) beside fields that neither reads (timestamps, the
    version that made the archive: harmless); either way no other exception and never
    changed scores. (A flipped compression method once escaped as NotImplementedError.)"""
    bad = _flip(saved, tmp_path, data, "zip")
    try:
        loaded = DSNFDetector.load(bad)
    except ValueError as exc:
        assert "not a readable pyod-dsnf detector file" in str(exc)
        return
    np.testing.assert_array_equal(loaded.decision_function(X[:4]), fitted.decision_function(X[:4]))


@pytest.mark.parametrize("field", ["decision_scores_", "joint_nll_mean_", "state_dict"])
def test_a_tensor_flagged_requires_grad_fails_the_checksum(saved, tmp_path, field):
    # found by the byte-flip test: one flipped byte can set a stored tensor's requires_grad
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    if field == "state_dict":
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name].requires_grad_(True)
    else:
        payload["arrays"][field].requires_grad_(True)
    torch.save(payload, tmp_path / "flagged.dsnf")
    with pytest.raises(ValueError, match="checksum does not match"):
        DSNFDetector.load(tmp_path / "flagged.dsnf")


def test_edited_weights_fail_the_checksum(saved, tmp_path):
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    name = next(iter(payload["state_dict"]))
    payload["state_dict"][name] = payload["state_dict"][name] + 1e-3
    torch.save(payload, tmp_path / "edited.dsnf")
    with pytest.raises(ValueError, match="checksum does not match"):
        DSNFDetector.load(tmp_path / "edited.dsnf")


JUNK = [None, 1, -3, 2.5, "x", "{", "[]", "{}", [], {}, [1, 2], {"a": 1}, torch.zeros(2)]


@FUZZ
@given(
    field=st.sampled_from(["params", "fitted", "arrays", "state_dict"]),
    junk=st.sampled_from(JUNK),
)
def test_malformed_fields_are_refused_with_value_error(saved, tmp_path, field, junk):
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    payload[field] = junk
    try:
        payload["checksum"] = persistence._checksum(payload)  # a deliberate edit, re-signed
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError):
        payload["checksum"] = "0" * 64
    bad = tmp_path / "junk.dsnf"
    torch.save(payload, bad)
    with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
        DSNFDetector.load(bad)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("decision_scores_"), "decision_scores_"),
        (lambda a: a.update(decision_scores_=torch.zeros(2, 3, dtype=torch.float64)), "1-D"),
        (lambda a: a.update(decision_scores_=torch.full((4,), float("nan"))), "without NaN"),
        (lambda a: a.update(joint_nll_mean_=torch.zeros(3, dtype=torch.float64)), r"\(17,\)"),
        (lambda a: a.update(joint_nll_std_=torch.zeros(17, dtype=torch.float64)), "positive"),
        (lambda a: a.pop("joint_nll_mean_"), "finite with positive spread"),
    ],
)
def test_malformed_fitted_arrays_are_refused(saved, tmp_path, change, match):
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    change(payload["arrays"])
    payload["checksum"] = persistence._checksum(payload)
    torch.save(payload, tmp_path / "a.dsnf")
    with pytest.raises(ValueError, match=f"not a readable pyod-dsnf detector file: .*{match}"):
        DSNFDetector.load(tmp_path / "a.dsnf")


@pytest.mark.parametrize(
    "fitted_changes",
    [{"input_shape_": "abc"}, {"input_shape_": [8, 17]}, {"input_shape_": [-1, 17, 3]},
     {"history_": 3}, {"n_features_in_": None, "input_shape_": None}],
)  # fmt: skip
def test_malformed_fitted_attributes_are_refused(saved, tmp_path, fitted_changes):
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    fitted_json = json.loads(payload["fitted"])
    fitted_json.update(fitted_changes)
    payload["fitted"] = json.dumps(fitted_json)
    payload["checksum"] = persistence._checksum(payload)
    torch.save(payload, tmp_path / "f.dsnf")
    with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
        DSNFDetector.load(tmp_path / "f.dsnf")


def test_files_of_another_kind_are_refused(fitted, tmp_path):
    kinds = {
        "empty.dsnf": b"",
        "text.dsnf": b"hello",
        "json.dsnf": json.dumps({"format": "pyod-dsnf-detector"}).encode(),
        "zip.dsnf": b"PK\x05\x06" + b"\x00" * 18,
    }
    for name, raw in kinds.items():
        (tmp_path / name).write_bytes(raw)
    np.save(tmp_path / "array.npy", np.zeros(3))
    torch.save(fitted.model_.state_dict(), tmp_path / "state_dict.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    joblib.dump(fitted, tmp_path / "joblib.pkl")
    (tmp_path / "pickle.pkl").write_bytes(pickle.dumps(fitted))
    for name in [*kinds, "array.npy", "state_dict.pt", "list.pt", "joblib.pkl", "pickle.pkl"]:
        with pytest.raises(ValueError, match="not a readable pyod-dsnf detector file"):
            DSNFDetector.load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        DSNFDetector.load(tmp_path)  # a directory


def test_newer_format_version_names_the_remedy(saved, tmp_path):
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = persistence.FORMAT_VERSION + 1
    payload["library_version"] = "99.0"
    torch.save(payload, tmp_path / "newer.dsnf")
    with pytest.raises(ValueError, match=r"written by pyod-dsnf 99\.0 .* upgrade pyod-dsnf"):
        DSNFDetector.load(tmp_path / "newer.dsnf")


# ----------------------------------------------------------- GPU-written models
def test_file_with_cuda_storages_loads_and_scores_on_cpu(fitted, X, tmp_path, monkeypatch):
    """Simulate a file written on a GPU: torch records every storage as on cuda:0."""
    monkeypatch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
    fitted.save(tmp_path / "gpu.dsnf")
    monkeypatch.undo()
    if not torch.cuda.is_available():  # the file really names CUDA storages
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(tmp_path / "gpu.dsnf", weights_only=True)
    loaded = DSNFDetector.load(tmp_path / "gpu.dsnf")
    assert loaded.device_ == "cpu"
    np.testing.assert_array_equal(loaded.decision_function(X[:4]), fitted.decision_function(X[:4]))


# A CUDA device that no machine has: index device_count (cuda:0 without CUDA, cuda:1 on one GPU).
ABSENT = f"cuda:{torch.cuda.device_count()}"


def test_load_with_an_absent_cuda_device_falls_back_to_cpu(saved, fitted, X):
    path, _ = saved
    with pytest.warns(UserWarning, match=f"load.device='{ABSENT}'.*loading onto the CPU"):
        loaded = DSNFDetector.load(path, device=ABSENT)
    assert loaded.device_ == "cpu"
    np.testing.assert_array_equal(loaded.decision_function(X[:4]), fitted.decision_function(X[:4]))


def test_model_trained_with_device_cuda_loads_here(saved, fitted, X, tmp_path):
    """A file from a GPU run: params say device='cuda', fitted device_ a CUDA device."""
    path, _ = saved
    payload = torch.load(path, weights_only=True)
    params, state = json.loads(payload["params"]), json.loads(payload["fitted"])
    params["device"], state["device_"] = "cuda", ABSENT
    payload["params"], payload["fitted"] = json.dumps(params), json.dumps(state)
    payload["checksum"] = persistence._checksum(payload)
    torch.save(payload, tmp_path / "cuda.dsnf")
    loaded = DSNFDetector.load(tmp_path / "cuda.dsnf")
    assert loaded.device == "cuda" and loaded.device_ == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scoring on the CPU needs no fallback here
        np.testing.assert_array_equal(
            loaded.decision_function(X[:4]), fitted.decision_function(X[:4])
        )
    pickled = pickle.loads(pickle.dumps(loaded))
    pickled.device_ = ABSENT  # as unpickled from the GPU machine
    with pytest.warns(UserWarning, match="scoring on the CPU"):
        pickled.decision_function(X[:2])
