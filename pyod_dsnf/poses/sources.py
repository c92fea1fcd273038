"""Pose formats by name: where a folder's clips are and how one is read.

A format is a :class:`PoseFormat`: ``find`` lists the clip sources of a folder
(files, or sub-folders for formats that write one file per frame), ``clip_id``
names a source without reading it, and ``read`` turns one source into a
:class:`~pyod_dsnf.poses.Clip`. Built in: ``"tracked"`` (our tracked-person JSON,
one file per clip) and, read by :func:`pyod_dsnf.poses.formats.load_poses`,
``"alphapose"`` (``<clip>.json`` or ``<clip>/alphapose-results.json``), ``"openpose"``
(``<clip>/*_keypoints.json``, or one such clip folder itself) and ``"mmpose"``
(``<clip>.json`` or ``<clip>/``) (docs/data.md); ``"auto"`` takes the files and
sub-folders of a folder (or an OpenPose clip folder itself) and tells each one's
format by its content. Another format plugs in by name in one of two ways:

* call :func:`register_format` with its :class:`PoseFormat`;
* or ship a module ``pyod_dsnf/poses/formats/<name>.py`` (``-`` in the name
  becomes ``_``) that calls :func:`register_format` when imported:
  :func:`get_format` imports it the first time the name is asked for.

:func:`load_folder` is the one folder loader of the package: the pipeline's
load step, ``pyod-dsnf fit`` / ``score`` and :func:`pyod_dsnf.datasets.load_dataset`
all read clips through it.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyod_dsnf.poses.tracks import Clip, _read_tracks, clip_id_from_path

__all__ = [
    "DEFAULT_FORMAT",
    "PoseFormat",
    "existing_dir",
    "find_sources",
    "get_format",
    "load_folder",
    "pose_formats",
    "register_format",
    "warn_nan_confidence",
]

#: The format read when none is named.
DEFAULT_FORMAT = "tracked"


@dataclass(frozen=True)
class PoseFormat:
    """How the clips of one pose format are found and read.

    Attributes
    ----------
    name : str
        The name users pass (``fmt=`` / ``--format``).
    find : callable
        ``find(folder: Path) -> list[Path]``: the clip sources of a folder,
        sorted (not recursive).
    clip_id : callable
        ``clip_id(source: Path) -> str``: the clip id of a source, without reading it.
    read : callable
        ``read(source: Path, *, layout: str, nan_confidence: str) -> Clip``; NaN
        joint confidences set to 0 are counted in ``Clip.n_nan_confidence`` (no warning:
        :func:`load_folder` gives one for the folder).
    description : str
        What a folder of this format holds, for messages ("holds no ...").
    """

    name: str
    find: Callable[[Path], list[Path]]
    clip_id: Callable[[Path], str]
    read: Callable[..., Clip]
    description: str = ""


def _find_json(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def _read_tracked_person(source: Path, *, layout: str, nan_confidence: str) -> Clip:
    return _read_tracks(source, layout=layout, clip_id=None, nan_confidence=nan_confidence)


def _clip_id_of(source: Path) -> str:
    if source.name == "alphapose-results.json" and source.parent.name:
        return source.parent.name
    return source.name if source.is_dir() else source.stem


def _find_files_and_folders(folder: Path, inner: str | None = None) -> list[Path]:
    """``*.json`` files of a folder and its sub-folders (``inner`` file in them, if named)."""
    out = list(folder.glob("*.json"))
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if inner is None:
            out.append(d)
        elif (d / inner).is_file():
            out.append(d / inner)
    return sorted(out, key=_clip_id_of)


def _is_openpose_clip(d: Path) -> bool:
    return any(f.name.endswith("_keypoints.json") for f in d.iterdir())


def _find_openpose(folder: Path) -> list[Path]:
    """Clip folders of ``*_keypoints.json`` files: the sub-folders, or the folder itself."""
    found = sorted(d for d in folder.iterdir() if d.is_dir() and _is_openpose_clip(d))
    return found or ([folder] if _is_openpose_clip(folder) else [])


def _find_any(folder: Path) -> list[Path]:
    """``*.json`` files and non-empty sub-folders; an OpenPose clip folder given directly."""
    if _is_openpose_clip(folder):
        return [folder]
    subs = [d for d in folder.iterdir()
            if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.json"))]  # fmt: skip
    return sorted([*folder.glob("*.json"), *subs], key=_auto_clip_id)


def _auto_clip_id(source: Path) -> str:
    if source.suffix == ".json" and source.name != "alphapose-results.json":
        return clip_id_from_path(source)
    return _clip_id_of(source)


def _read_auto(source: Path, *, layout: str, nan_confidence: str) -> Clip:
    from pyod_dsnf.poses.formats import load_poses

    with warnings.catch_warnings():  # load_folder gives one warning for the folder
        warnings.filterwarnings("ignore", message=r".*NaN joint confidences? set to 0")
        return load_poses(source, format="auto", layout=layout, clip_id=_auto_clip_id(source))


def _estimator_format(name: str, find: Callable[[Path], list[Path]], what: str) -> PoseFormat:
    """A format read by :func:`pyod_dsnf.poses.formats.load_poses` (formats without
    person ids get them from the Norfair tracker, the ``[track]`` extra)."""

    def read(source: Path, *, layout: str, nan_confidence: str) -> Clip:
        from pyod_dsnf.poses.formats import load_poses

        return load_poses(source, format=name, layout=layout, clip_id=_clip_id_of(source))

    return PoseFormat(name=name, find=find, clip_id=_clip_id_of, read=read, description=what)


_FORMATS: dict[str, PoseFormat] = {
    DEFAULT_FORMAT: PoseFormat(
        name=DEFAULT_FORMAT,
        find=_find_json,
        clip_id=clip_id_from_path,
        read=_read_tracked_person,
        description="*.json tracked-person files (AlphaPose + PoseFlow, as STG-NF)",
    ),
    "alphapose": _estimator_format(
        "alphapose",
        lambda d: _find_files_and_folders(d, "alphapose-results.json"),
        "AlphaPose results (<clip>.json or <clip>/alphapose-results.json)",
    ),
    "openpose": _estimator_format(
        "openpose", _find_openpose,
        "OpenPose clip folders (<clip>/*_keypoints.json, or one such folder)"
    ),
    "mmpose": _estimator_format(
        "mmpose",
        _find_files_and_folders,
        "MMPose predictions (<clip>.json or <clip>/ of per-image files)",
    ),
    "auto": PoseFormat(
        name="auto",
        find=_find_any,
        clip_id=_auto_clip_id,
        read=_read_auto,
        description="pose files or clip folders of any supported format (*.json, <clip>/)",
    ),
}


def register_format(fmt: PoseFormat) -> PoseFormat:
    """Make ``fmt`` available by its name (replacing one of the same name); returns it."""
    if not isinstance(fmt, PoseFormat):
        raise TypeError(f"fmt must be a PoseFormat, got {type(fmt).__name__}")
    _FORMATS[fmt.name] = fmt
    return fmt


def pose_formats() -> tuple[str, ...]:
    """The names of the formats registered so far."""
    return tuple(_FORMATS)


def get_format(name: str) -> PoseFormat:
    """The :class:`PoseFormat` called ``name`` (imported from ``poses/formats/`` if needed)."""
    if not isinstance(name, str):
        raise TypeError(f"fmt must be a format name (str), got {type(name).__name__}")
    if name not in _FORMATS:
        module = f"pyod_dsnf.poses.formats.{name.replace('-', '_')}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise  # the format module exists but needs something missing
    if name not in _FORMATS:
        raise ValueError(f"fmt must be one of {pose_formats()}, got {name!r}")
    return _FORMATS[name]


def find_sources(
    folder: str | os.PathLike, *, fmt: str = DEFAULT_FORMAT, name: str = "pose_dir"
) -> list[Path]:
    """The clip sources of a folder in format ``fmt``, checked, without reading them.

    Raises ``ValueError`` naming ``name`` when the folder is missing or not a folder,
    holds no clip of the format (saying where the clips of a pose/train, pose/test
    dataset live), or two sources give the same clip id.
    """
    pose_format = get_format(fmt)
    d = existing_dir(folder, name)
    sources = pose_format.find(d)
    if not sources:
        hint = ""
        if (d / "pose").is_dir() or (d / "train").is_dir():
            hint = " (for a dataset root, pass its pose/train or pose/test folder)"
        raise ValueError(f"{name}={str(d)!r} holds no {pose_format.description}{hint}")
    ids = [pose_format.clip_id(s) for s in sources]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"{d}: clip ids {dup[:5]} occur in more than one file")
    return sources


def warn_nan_confidence(folder: str | os.PathLike, counts: list[int], stacklevel: int = 2) -> None:
    """One warning for a folder whose clips had NaN joint confidences set to 0."""
    if sum(counts):
        warnings.warn(
            f"{folder}: {sum(counts)} NaN joint confidences in {sum(1 for c in counts if c)} "
            "file(s) set to 0 (see Clip.n_nan_confidence)",
            stacklevel=stacklevel + 1,
        )


def load_folder(
    folder: str | os.PathLike,
    *,
    fmt: str = DEFAULT_FORMAT,
    layout: str = "coco17",
    nan_confidence: str = "zero",
    name: str = "pose_dir",
) -> list[Clip]:
    """Read every clip of a folder (not recursive), sorted by source name.

    Parameters
    ----------
    folder : str or path
        A folder of clips in format ``fmt``.
    fmt : str, default="tracked"
        A format name (:func:`~pyod_dsnf.poses.pose_formats`).
    layout : {"coco17", "openpose18"}, default="coco17"
        Joint layout of the returned keypoints.
    nan_confidence : {"zero", "raise"}, default="zero"
        See :func:`pyod_dsnf.poses.load_tracks`; with ``"zero"`` one warning for
        the folder gives the count.
    name : str, default="pose_dir"
        The argument name used in error messages.

    Returns
    -------
    list of Clip

    Raises
    ------
    ValueError
        When the folder is missing or not a folder, holds no clip of the format
        (the message says where the clips of a pose/train, pose/test dataset
        live), a clip is invalid, or two sources give the same clip id.
    """
    sources = find_sources(folder, fmt=fmt, name=name)
    read = get_format(fmt).read
    clips = [read(s, layout=layout, nan_confidence=nan_confidence) for s in sources]
    warn_nan_confidence(folder, [c.n_nan_confidence for c in clips], stacklevel=2)
    return clips


def existing_dir(path: str | os.PathLike, name: str) -> Path:
    """``path`` as a Path; ValueError naming ``name`` when it is missing or not a folder."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{name}={str(p)!r} does not exist")
    if not p.is_dir():
        raise ValueError(f"{name}={str(p)!r} is not a folder")
    return p
