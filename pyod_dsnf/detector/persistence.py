"""The detector file format: writing and reading it safely, and nothing else.

A file is a ``torch.save`` zip archive read back with
``torch.load(weights_only=True)``, which only accepts tensors and plain
containers (dict, list, str, int, float, bool, None): loading never executes
code. This module knows the layout of every format version and the fitted state a
file holds (:data:`FITTED_VALUES`, :data:`FITTED_ARRAYS`): :func:`fitted_state` reads it
from a fitted detector's public attributes and :func:`check_fitted_state` checks what a
file holds before the estimator restores it.

Format 5 (current) holds

* ``format`` (``"pyod-dsnf-detector"``) and ``format_version`` (int), checked
  on load; a file from a newer format version is refused;
* ``library_version``: the pyod-dsnf version that wrote it (informational);
* ``params``: the constructor parameters as a JSON string (a custom layout is
  stored as its fields);
* ``fitted``: JSON-able fitted values as a JSON string;
* ``arrays``: named float64 tensors (fitted arrays);
* ``state_dict``: the flow's weights (CPU tensors);
* ``checksum``: SHA-256 over all of the above, so a file damaged on disk or in
  transfer is refused instead of loading changed weights (a flipped byte
  inside a tensor is otherwise invisible to the zip reader).

Earlier formats are read into the same :class:`SavedDetector`:

* 4: the layout of format 5; its detectors predate the body's orientation
  (no ``up_direction_`` array: the estimator loads them without a turn, so they
  score as before). The version was bumped so that a reader of format 4, which
  would ignore that array and score a format-5 model in the wrong frame,
  refuses the file instead;
* 1: no checksum; 2: the checksum; 1-2 predate the per-joint score, so
  ``anomaly_score`` is set to ``"nll"`` (how they scored);
* 1-3 keep ``decision_scores``, ``labels`` and ``joint_nll_mean_`` /
  ``joint_nll_std_`` (format 3) as top-level tensors and PyOD's ``threshold_``,
  ``_mu``, ``_sigma``, ``_classes`` in ``fitted``. The labels and those four
  fields are checked by the checksum and then dropped: the estimator recomputes
  them from the decision scores.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pyod_dsnf._checks import is_int
from pyod_dsnf._version import __version__
from pyod_dsnf.poses.skeletons import SkeletonGraph

__all__ = [
    "FITTED_ARRAYS",
    "FITTED_VALUES",
    "FORMAT",
    "FORMAT_VERSION",
    "DetectorFileError",
    "FittedState",
    "SavedDetector",
    "check_fitted_state",
    "fitted_state",
    "load_weights",
    "read_detector_file",
    "write_detector_file",
]

FORMAT = "pyod-dsnf-detector"
FORMAT_VERSION = 5
#: ``awam_prob`` of files written before it was a parameter (the fixed share then used).
AWAM_PROB_BEFORE_PARAMETER = 0.25

#: Fitted attributes stored as JSON values / as float64 arrays. PyOD's ``threshold_``,
#: ``labels_``, ``_mu`` and ``_sigma`` are not stored: the estimator recomputes them from
#: ``decision_scores_`` on load (PyOD's ``_process_decision_scores``).
FITTED_VALUES = ("input_shape_", "n_features_in_", "n_epochs_", "history_", "curvature_",
                 "device_", "anomaly_score_")  # fmt: skip
FITTED_ARRAYS = ("decision_scores_", "joint_nll_mean_", "joint_nll_std_", "up_direction_")
#: ``up_direction_`` of detectors fitted before the orientation existed: image up, no turn
#: (``orientation.IMAGE_UP``; not imported: this module knows nothing of the estimator).
UP_BEFORE_ORIENTATION = (0.0, -1.0)
_ANOMALY_SCORES = ("joint", "nll")

# formats 1-3: fields that are now recomputed on load, and the top-level arrays
_RECOMPUTED = ("threshold_", "_mu", "_sigma", "_classes")
_OLD_ARRAYS = {"decision_scores": "decision_scores_", "joint_nll_mean_": "joint_nll_mean_",
               "joint_nll_std_": "joint_nll_std_"}  # fmt: skip
_ZIP_MAGIC = b"PK\x03\x04"


class DetectorFileError(ValueError):
    """A file that is not a readable pyod-dsnf detector; the message says why."""

    def __init__(self, path: str | os.PathLike, why: str) -> None:
        super().__init__(f"{path} is not a readable pyod-dsnf detector file: {why}")


@dataclass
class SavedDetector:
    """The content of a detector file, whatever its format version.

    Attributes
    ----------
    format_version : int
        Version of the file as written.
    library_version : str or None
        pyod-dsnf version that wrote it.
    params : dict
        Constructor parameters (a custom layout as a :class:`SkeletonGraph`).
    fitted : dict
        Fitted JSON values.
    arrays : dict of str to ndarray
        Fitted arrays, float64.
    state_dict : dict of str to Tensor
        The flow's weights.
    """

    format_version: int
    library_version: str | None
    params: dict[str, Any]
    fitted: dict[str, Any]
    arrays: dict[str, np.ndarray]
    state_dict: dict[str, torch.Tensor]


@dataclass
class FittedState:
    """The fitted state of a detector file, checked by :func:`check_fitted_state`.

    Attributes
    ----------
    input_shape : tuple of int
        (T, V, C).
    n_epochs : int
    history : dict of str to list of float
    curvature : float or None
    anomaly_score : {"joint", "nll"}
    decision_scores : ndarray of shape (n,)
        No NaN.
    joint_nll_mean, joint_nll_std : ndarray of shape (V,)
        NaN in files written before the "joint" score (then ``anomaly_score`` is "nll").
    up_direction : ndarray of shape (2,)
        Unit vector; (0, -1) (no turn) in files written before the orientation.
    calibration : dict or None
        The stream's calibration (:func:`pyod_dsnf.stream.calibrate_detector`), if stored.
    """

    input_shape: tuple[int, int, int]
    n_epochs: int
    history: dict[str, list[float]]
    curvature: float | None
    anomaly_score: str
    decision_scores: np.ndarray
    joint_nll_mean: np.ndarray
    joint_nll_std: np.ndarray
    up_direction: np.ndarray
    calibration: dict[str, Any] | None = None


def fitted_state(detector: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What a file stores of a fitted detector: (JSON values, float64 arrays)."""
    values = {k: getattr(detector, k) for k in FITTED_VALUES}
    arrays = {k: np.asarray(getattr(detector, k), np.float64)
              for k in FITTED_ARRAYS if k != "up_direction_"}  # fmt: skip
    arrays["up_direction_"] = np.asarray(  # image up for detectors pickled before it existed
        getattr(detector, "up_direction_", UP_BEFORE_ORIENTATION), np.float64)
    cal = getattr(detector, "calibration_", None)
    if isinstance(cal, dict):  # JSON values, arrays as "calibration_<key>"
        values["calibration_"] = {k: v for k, v in cal.items() if not isinstance(v, np.ndarray)}
        arrays.update({f"calibration_{k}": v for k, v in cal.items()
                       if isinstance(v, np.ndarray)})  # fmt: skip
    return values, arrays


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Load a file's weights into a freshly built flow; ValueError when they do not fit it."""
    try:
        model.load_state_dict(weights, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(f"its weights do not match its parameters ({exc})") from exc


def check_fitted_state(values: dict[str, Any], arrays: dict[str, np.ndarray]) -> FittedState:
    """The fitted state of a file, checked; ValueError (or KeyError, TypeError) if malformed.

    Missing per-joint statistics (files written before the "joint" score) are NaN,
    allowed only with ``anomaly_score_ == "nll"``.
    """
    shape = tuple(int(v) for v in values["input_shape_"])
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape_ {shape} is not (T, V, C)")
    history = {str(k): [float(x) for x in v] for k, v in values["history_"].items()}
    scores = np.asarray(arrays["decision_scores_"], np.float64)
    if scores.ndim != 1 or scores.size == 0 or np.isnan(scores).any():
        raise ValueError(f"decision_scores_ of shape {scores.shape} must be 1-D without NaN")
    kind = str(values["anomaly_score_"])
    if kind not in _ANOMALY_SCORES:
        raise ValueError(f"anomaly_score_ must be 'joint' or 'nll', got {kind!r}")
    stats = []
    for key in ("joint_nll_mean_", "joint_nll_std_"):
        value = np.asarray(arrays.get(key, np.full(shape[1], np.nan)), np.float64)
        if value.shape != (shape[1],):
            raise ValueError(f"{key} has shape {value.shape}, expected ({shape[1]},)")
        stats.append(value)
    mean, std = stats
    if kind == "joint" and not (np.isfinite(mean).all() and (std > 0).all()):
        raise ValueError("the per-joint NLL statistics must be finite with positive spread")
    up = np.asarray(arrays.get("up_direction_", UP_BEFORE_ORIENTATION), np.float64)
    if up.shape != (2,) or not np.isfinite(up).all() or abs(np.hypot(*up) - 1.0) > 1e-6:
        raise ValueError(f"up_direction_ must be a unit vector of shape (2,), got {up}")
    cal = values.get("calibration_")
    if isinstance(cal, dict):
        cal = dict(cal)
        cal.update({k[len("calibration_"):]: v for k, v in arrays.items()
                    if k.startswith("calibration_")})  # fmt: skip
    else:
        cal = None
    return FittedState(shape, int(values["n_epochs_"]), history, values["curvature_"],
                       kind, scores, mean, std, up, cal)  # fmt: skip


# ------------------------------------------------------------------ encoding
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
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _checksum(payload: dict[str, Any]) -> str:
    """SHA-256 of a payload's fields (everything but the checksum itself), any version >= 2."""
    h = hashlib.sha256()

    def add_tensor(t: torch.Tensor) -> None:
        if t.requires_grad:  # never saved so; hashed only when set, so older files still match
            h.update(b"requires_grad")
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())

    for key in ("format", "format_version", "library_version", "params", "fitted"):
        h.update(f"{key}={payload[key]!r};".encode())
    if payload["format_version"] >= 4:
        for name in sorted(payload["arrays"]):
            h.update(name.encode())
            add_tensor(payload["arrays"][name])
    else:
        add_tensor(payload["decision_scores"])
        add_tensor(payload["labels"])
        for key in ("joint_nll_mean_", "joint_nll_std_"):
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


# ------------------------------------------------------------------- writing
def write_detector_file(
    path: str | os.PathLike,
    *,
    params: dict[str, Any],
    fitted: dict[str, Any],
    arrays: dict[str, np.ndarray],
    state_dict: dict[str, torch.Tensor],
) -> None:
    """Write a detector file (format :data:`FORMAT_VERSION`) atomically.

    A temporary file in the target folder is written, synced and renamed onto
    ``path``, so an interrupted save leaves any previous file intact; an
    overwritten file keeps its permissions.

    Parameters
    ----------
    path : str or path-like
    params : dict
        Constructor parameters: plain numbers, strings, None or a SkeletonGraph.
    fitted : dict
        JSON-able fitted values (numpy scalars and tuples are converted).
    arrays : dict of str to array-like
        Fitted arrays, stored as float64.
    state_dict : dict of str to Tensor
        Model weights, stored on the CPU.
    """
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "params": json.dumps({k: _encode_param(k, v) for k, v in params.items()}),
        "fitted": json.dumps(_plain(fitted)),
        "arrays": {k: torch.from_numpy(np.asarray(v, np.float64)) for k, v in arrays.items()},
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
    }
    payload["checksum"] = _checksum(payload)
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"save(path): {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save(path): the folder {path.parent} does not exist")
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


# ------------------------------------------------------------------- reading
def _check_container(path: Path) -> None:
    """Say what the file is when it is not an intact ``torch.save`` zip archive."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(64)
    if size == 0:
        raise DetectorFileError(path, "the file is empty")
    if size < len(_ZIP_MAGIC) and _ZIP_MAGIC.startswith(head):
        raise DetectorFileError(path, f"the file is truncated ({size} bytes)")
    if not head.startswith(_ZIP_MAGIC):
        kind = "a text file" if _looks_like_text(head) else f"starts with {head[:8]!r}"
        raise DetectorFileError(
            path, f"not a pyod-dsnf model ({kind}; a model file is a zip archive written by "
            f"DSNFDetector.save)"
        )  # fmt: skip
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            damaged = archive.testzip()
    except zipfile.BadZipFile as exc:
        raise DetectorFileError(
            path, f"the file is truncated or damaged ({size} bytes; the zip directory at the "
            f"end of a model file is missing)"
        ) from exc  # fmt: skip
    # NotImplementedError: zipfile's answer to a compression method that a flipped byte made
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise DetectorFileError(
            path, f"the file is truncated or damaged ({size} bytes; {type(exc).__name__}: {exc})"
        ) from exc  # fmt: skip
    if damaged is not None:
        raise DetectorFileError(path, f"the file is damaged (zip member {damaged!r} fails its CRC)")
    if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        raise DetectorFileError(
            path, "not a pyod-dsnf model (a zip archive, but not one written by torch.save)"
        )


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch.isspace() for ch in text)


def _upgrade(payload: dict[str, Any], version: int) -> tuple[dict, dict, dict]:
    """params, fitted and arrays of a file of any version, in the current layout."""
    params = {k: _decode_param(v) for k, v in json.loads(payload["params"]).items()}
    # written before awam_prob was a parameter: trained with the then fixed share 0.25
    params.setdefault("awam_prob", AWAM_PROB_BEFORE_PARAMETER)
    fitted = json.loads(payload["fitted"])
    if not isinstance(fitted, dict):
        raise TypeError(f"fitted must be a JSON object, got {type(fitted).__name__}")
    if version >= 4:
        stored = payload["arrays"]
        if not isinstance(stored, dict):
            raise TypeError(f"arrays must be a dict, got {type(stored).__name__}")
        arrays = {str(k): v.detach().numpy().astype(np.float64) for k, v in stored.items()}
        return params, fitted, arrays
    arrays = {
        new: payload[old].detach().numpy().astype(np.float64)
        for old, new in _OLD_ARRAYS.items()
        if old in payload
    }
    for key in _RECOMPUTED:
        fitted.pop(key, None)
    if version < 3:
        # written before the "joint" score existed: it scored by the NLL, and still does
        params.setdefault("anomaly_score", "nll")
        fitted["anomaly_score_"] = "nll"
    return params, fitted, arrays


def read_detector_file(path: str | os.PathLike) -> SavedDetector:
    """Read a detector file of any format version; nothing in the file is executed.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    DetectorFileError
        (a ValueError) The file is empty, truncated or damaged, not a pyod-dsnf
        model, of a newer format version, or has malformed fields; the message
        says which.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no detector file at {path}")
    _check_container(path)
    try:
        with warnings.catch_warnings():
            # a foreign pickle makes torch warn about its protocol; the refusal below says more
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        first_line = (str(exc).splitlines() or [""])[0][:300]
        raise DetectorFileError(
            path, f"torch cannot read it safely ({type(exc).__name__}: {first_line})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DetectorFileError(
            path, f"not a pyod-dsnf model (a torch file without the format marker {FORMAT!r})"
        )
    version = payload.get("format_version")
    if not is_int(version) or version < 1:
        raise DetectorFileError(path, f"unsupported format_version {version!r}")
    if version > FORMAT_VERSION:
        raise DetectorFileError(
            path,
            f"unsupported version: it was written by pyod-dsnf {payload.get('library_version')} "
            f"in format version {version}, but this pyod-dsnf {__version__} reads up to version "
            f"{FORMAT_VERSION}; upgrade pyod-dsnf",
        )
    if version >= 2:
        try:
            intact = payload.get("checksum") == _checksum(payload)
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            why = f"a field is missing or malformed ({exc!r:.200})"
            raise DetectorFileError(path, why) from exc
        if not intact:
            raise DetectorFileError(
                path, "its checksum does not match its content (the file is damaged or was edited)"
            )
    try:
        params, fitted, arrays = _upgrade(payload, version)
        state = payload["state_dict"]
        if not isinstance(state, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state).__name__}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DetectorFileError(path, f"{type(exc).__name__}: {exc}") from exc
    library = payload.get("library_version")
    return SavedDetector(version, library if isinstance(library, str) else None, params,
                         fitted, arrays, state)  # fmt: skip
