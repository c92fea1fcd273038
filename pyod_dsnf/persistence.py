"""Saving and loading a fitted :class:`~pyod_dsnf.estimator.DSNFDetector` safely.

The file is a ``torch.save`` archive read back with ``torch.load(weights_only=True)``,
which only accepts tensors and plain containers (dict, list, str, int, float,
bool, None): loading can never execute code. It holds

* ``format`` (``"pyod-dsnf-detector"``) and ``format_version`` (int), checked
  on load; a file from a newer format version is refused;
* ``library_version``: the pyod-dsnf version that wrote it (informational);
* ``params``: the constructor parameters as a JSON string (a custom layout is
  stored as its fields);
* ``fitted``: the fitted scalar attributes as a JSON string;
* ``decision_scores`` / ``labels``: tensors of the training scores and labels;
* ``state_dict``: the flow's weights (CPU tensors);
* ``checksum`` (format version 2 on): SHA-256 over all of the above, so a
  file damaged on disk or in transfer is refused instead of loading changed
  weights (a flipped byte inside a tensor is otherwise invisible to the zip
  reader). Version-1 files, which have none, still load.

The model is rebuilt from ``params`` and ``input_shape_`` and the weights are
loaded strictly, so a file whose weights do not fit its parameters is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pyod_dsnf._version import __version__
from pyod_dsnf.graph import SkeletonGraph

__all__ = ["FORMAT", "FORMAT_VERSION", "load_detector", "save_detector"]

FORMAT = "pyod-dsnf-detector"
FORMAT_VERSION = 3

_FITTED_SCALARS = ("input_shape_", "n_features_in_", "n_epochs_", "history_", "threshold_",
                   "curvature_", "device_", "_mu", "_sigma", "_classes")  # fmt: skip
# format 3: per-joint NLL statistics of the "joint" anomaly score
_JOINT_ARRAYS = ("joint_nll_mean_", "joint_nll_std_")


def _encode_param(name: str, value: Any) -> Any:
    if isinstance(value, SkeletonGraph):
        return {
            "__skeleton_graph__": {
                "name": value.name,
                "n_joints": value.n_joints,
                "edges": [list(e) for e in value.edges],
                "center": list(value.center),
                "flip_pairs": [list(p) for p in value.flip_pairs],
                "joint_names": list(value.joint_names),
            }
        }
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"save() stores parameters as JSON, but {name}={value!r} is not a plain number, string "
        f"or None; set it to one (e.g. an int random_state) before saving"
    )


def _decode_param(value: Any) -> Any:
    if isinstance(value, dict) and "__skeleton_graph__" in value:
        g = value["__skeleton_graph__"]
        return SkeletonGraph(
            name=g["name"],
            n_joints=g["n_joints"],
            edges=tuple(tuple(e) for e in g["edges"]),
            center=tuple(g["center"]),
            flip_pairs=tuple(tuple(p) for p in g["flip_pairs"]),
            joint_names=tuple(g["joint_names"]),
        )
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _checksum(payload: dict[str, Any]) -> str:
    """SHA-256 of a payload's fields (everything but the checksum itself)."""
    h = hashlib.sha256()

    def add_tensor(t: torch.Tensor) -> None:
        if t.requires_grad:  # never saved so; hashed only when set, so older files still match
            h.update(b"requires_grad")
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())

    for key in ("format", "format_version", "library_version", "params", "fitted"):
        h.update(f"{key}={payload[key]!r};".encode())
    add_tensor(payload["decision_scores"])
    add_tensor(payload["labels"])
    for key in _JOINT_ARRAYS:
        if key in payload:
            add_tensor(payload[key])
    for name in sorted(payload["state_dict"]):
        h.update(name.encode())
        add_tensor(payload["state_dict"][name])
    return h.hexdigest()


def _file_mode() -> int:
    """Permissions of a newly created file under the current umask (mkstemp uses 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_detector(detector: Any, path: str | os.PathLike) -> None:
    """Write a fitted detector to ``path`` atomically (see the module docstring)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(detector, ["model_", "decision_scores_"])
    params = {k: _encode_param(k, v) for k, v in detector.get_params(deep=False).items()}
    fitted = {k: _plain(getattr(detector, k)) for k in _FITTED_SCALARS}
    fitted["anomaly_score_"] = detector.anomaly_score_
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "params": json.dumps(params),
        "fitted": json.dumps(fitted),
        "decision_scores": torch.from_numpy(np.asarray(detector.decision_scores_, np.float64)),
        "labels": torch.from_numpy(np.asarray(detector.labels_, np.int64)),
        **{k: torch.from_numpy(np.asarray(getattr(detector, k), float)) for k in _JOINT_ARRAYS},
        "state_dict": {k: v.detach().cpu() for k, v in detector.model_.state_dict().items()},
    }
    payload["checksum"] = _checksum(payload)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"save(path): {path} is a directory; give a file name")
    mode = path.stat().st_mode & 0o777 if path.is_file() else _file_mode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, mode)  # keep an overwritten file's permissions, else the umask's
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _refuse(path: Path, why: str) -> ValueError:
    return ValueError(f"{path} is not a readable pyod-dsnf detector file: {why}")


def load_detector(cls: type, path: str | os.PathLike, device: str = "cpu") -> Any:
    """Read a detector written by :func:`save_detector`; nothing in the file is executed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no detector file at {path}")
    try:
        with warnings.catch_warnings():
            # a foreign pickle makes torch warn about its protocol; the refusal below says more
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        first_line = (str(exc).splitlines() or [""])[0][:300]  # an empty file: no message
        raise _refuse(path, f"{type(exc).__name__}: {first_line}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _refuse(path, f"it lacks the format marker {FORMAT!r}")
    version = payload.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _refuse(path, f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise _refuse(
            path,
            f"it was written by pyod-dsnf {payload.get('library_version')} in format version "
            f"{version}, but this pyod-dsnf {__version__} reads up to version {FORMAT_VERSION}; "
            f"upgrade pyod-dsnf",
        )
    if version >= 2:
        try:
            intact = payload.get("checksum") == _checksum(payload)
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            raise _refuse(path, f"a field is missing or malformed ({exc!r:.200})") from exc
        if not intact:
            raise _refuse(
                path, "its checksum does not match its content (the file is damaged or was edited)"
            )
    dev = _load_device(device)
    try:
        params = {k: _decode_param(v) for k, v in json.loads(payload["params"]).items()}
        fitted = json.loads(payload["fitted"])
        scores = payload["decision_scores"].detach().numpy().astype(np.float64)
        labels = payload["labels"].detach().numpy().astype(int)
        state = payload["state_dict"]
        if version < 3:
            # written before the "joint" score existed: it scored by the NLL, and still does
            params.setdefault("anomaly_score", "nll")
            fitted["anomaly_score_"] = "nll"
        detector = cls(**params)
        detector.graph_ = detector._check_params()
        for key in _FITTED_SCALARS:
            setattr(detector, key, fitted[key])
        detector.input_shape_ = tuple(int(v) for v in detector.input_shape_)
        if len(detector.input_shape_) != 3:
            raise ValueError(f"input_shape_ {detector.input_shape_} is not (T, V, C)")
        detector.history_ = {str(k): list(v) for k, v in detector.history_.items()}
        if scores.ndim != 1 or labels.shape != scores.shape or np.isnan(scores).any():
            raise ValueError(
                f"decision_scores {tuple(scores.shape)} and labels {tuple(labels.shape)} must be "
                f"1-D of one length, without NaN"
            )
        if not set(np.unique(labels).tolist()) <= {0, 1}:
            raise ValueError("labels must be 0 or 1")
        detector.anomaly_score_ = str(fitted["anomaly_score_"])
        n_joints = detector.input_shape_[1]
        for key in _JOINT_ARRAYS:
            if version >= 3:
                value = payload[key].detach().numpy().astype(np.float64)
            else:
                value = np.full(n_joints, np.nan)
            if value.shape != (n_joints,):
                raise ValueError(f"{key} has shape {tuple(value.shape)}, expected ({n_joints},)")
            setattr(detector, key, value)
        if detector.anomaly_score_ == "joint" and not (
            np.isfinite(detector.joint_nll_mean_).all() and (detector.joint_nll_std_ > 0).all()
        ):
            raise ValueError("the per-joint NLL statistics must be finite with positive spread")
        detector.decision_scores_ = scores
        detector.labels_ = labels
        model = detector._build_model(detector.input_shape_[0], 0, torch.device("cpu"))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise _refuse(path, f"{type(exc).__name__}: {exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise _refuse(path, f"its weights do not match its parameters ({exc})") from exc
    model.eval()
    detector.model_ = model.to(dev)
    detector.device_ = str(dev)
    return detector


def _load_device(device: str) -> torch.device:
    """The device to load onto; a CUDA device that is absent here falls back to the CPU."""
    from pyod_dsnf.estimator import _resolve_device

    try:
        return _resolve_device(device)
    except ValueError as exc:
        if "CUDA" not in str(exc):
            raise
        warnings.warn(
            f"load(device={device!r}): {exc}; loading onto the CPU instead",
            UserWarning,
            stacklevel=4,
        )
        return torch.device("cpu")
