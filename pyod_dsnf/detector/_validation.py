"""Input checking and preparation of skeleton segments for :class:`DSNFDetector`.

Three jobs, one function each:

* :func:`check_segments` turns whatever the user handed (numpy or torch, 4-D or
  flattened 2-D) into an array ``(n_segments, T, V, C)`` of float32 (float64
  when given float64; nothing is copied that need not be) or raises a clear
  error that names the argument, what was expected and what came;
* :func:`prepare_segments` applies the missing-joint rule (imputation, by
  :func:`pyod_dsnf.poses.gaps.interpolate_missing`), the per-segment
  normalization and returns the flow's input ``(n, 2, T, V)`` float32 (the
  confidence channel is not modelled): the one layout change on the way, made
  in the same copy as the one cast to float32. The arithmetic of this step
  runs in float64 on one chunk at a time, so the normalization is exact at
  any magnitude;
* :func:`mirror_segments` builds the left/right mirrored copies used by
  ``augment=True``.

The rules are documented in ``docs/estimator.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import _num_samples, check_array

from pyod_dsnf.poses.gaps import interpolate_missing
from pyod_dsnf.poses.skeletons import SkeletonGraph, layout_for_joints

__all__ = [
    "SCALE_FLOOR",
    "check_segments",
    "check_y",
    "mirror_segments",
    "normalize_segments",
    "prepare_segments",
]

#: Relative lower bound of the per-segment scale used by the normalization: a
#: segment whose spread is below ``SCALE_FLOOR`` times its largest absolute
#: coordinate (float32 round-off level, e.g. all joints at one point) maps to
#: (almost) all zeros and stays finite. Relative, so that normalization is
#: scale invariant at every magnitude (1e-12 and 1e12 alike).
SCALE_FLOOR = 1e-6
#: Segments prepared at a time by :func:`prepare_segments`: the float64 working
#: arrays of a block (about 0.8 MiB each for T = 24, V = 17) stay in the L2 cache.
PREP_BLOCK = 64

_NON_NUMERIC_KINDS = {"U": "strings", "S": "bytes", "b": "booleans", "M": "datetimes",
                      "m": "timedeltas", "V": "raw records"}  # fmt: skip


def _as_array(X: object, name: str) -> object:
    """Torch tensors to numpy (detached, on CPU); everything else unchanged."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return X
    if isinstance(X, torch.Tensor):
        if X.is_complex():
            raise ValueError(f"{name} must hold real numbers, got a complex tensor ({X.dtype})")
        if X.dtype == torch.bool:
            raise TypeError(f"{name} must hold numbers, got a tensor of booleans")
        X = X.detach().cpu()
        if X.is_floating_point() and X.dtype not in (torch.float16, torch.float32, torch.float64):
            X = X.to(torch.float32)  # bfloat16, float8: numpy has no such dtype
        return X.resolve_conj().resolve_neg().numpy()
    return X


def check_segments(
    X: object,
    graph: SkeletonGraph,
    *,
    flat_channels: int,
    input_shape: tuple[int, int, int] | None = None,
    min_segments: int = 1,
    estimator_name: str = "DSNFDetector",
    name: str = "X",
) -> np.ndarray:
    """Validate skeleton segments and return them as ``(n, T, V, C)`` float32 or float64.

    Parameters
    ----------
    X : array-like or torch.Tensor
        Either ``(n_segments, T, V, C)`` or the same flattened in C order to
        ``(n_segments, T * V * C)``.
    graph : SkeletonGraph
        The layout; gives the number of joints V.
    flat_channels : int
        C assumed for 2-D input when ``input_shape`` is None (at fit time).
    input_shape : tuple of int, optional
        ``(T, V, C)`` seen at fit. When given, 4-D input must match it and 2-D
        input must have ``T * V * C`` features.
    min_segments : int, default=1
        Smallest acceptable number of segments.
    estimator_name, name : str
        Used in error messages.

    Returns
    -------
    ndarray of shape (n_segments, T, V, C)
        float64 when X is float64, float32 otherwise (X itself when it already
        is one of these, C-contiguous or not). NaN/inf are still present here;
        :func:`prepare_segments` applies the missing-joint rule.
    """
    X = _as_array(X, name)
    if isinstance(X, np.ma.MaskedArray) and np.ma.getmaskarray(X).any():
        raise ValueError(
            f"{name} is a masked array with masked entries; masks are not read: mark a missing "
            f"joint by confidence 0 (C = 3) instead, or pass X.filled(...) or X.data"
        )
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        if X is None or isinstance(X, (dict, set, str, bytes)) or np.isscalar(X):
            raise TypeError(
                f"{name} must be an array of skeleton segments (n_segments, T, V, C), got "
                f"{type(X).__name__}"
            )
        try:
            X = np.asarray(X)  # lists, array-likes without numpy's interface
        except ValueError as exc:
            raise ValueError(
                f"{name} must be a rectangular array (n_segments, T, V, C); nested sequences of "
                f"unequal lengths cannot be stacked ({str(exc).splitlines()[0]})"
            ) from None
    dtype = getattr(X, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind in _NON_NUMERIC_KINDS:
        raise TypeError(
            f"{name} must hold numbers (skeleton coordinates), got an array of "
            f"{_NON_NUMERIC_KINDS[kind]} (dtype {dtype})"
        )
    if kind == "c":
        raise ValueError(
            f"{name} must hold real numbers: Complex data not supported (dtype {dtype})"
        )
    if kind == "O":
        try:
            X = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must hold numbers (skeleton coordinates), got an object array with a "
                f"value that is not one ({str(exc).splitlines()[0][:120]})"
            ) from None
    ndim = len(X.shape)
    if ndim not in (2, 4):
        hint = ""
        if ndim == 3:
            hint = " (a single segment of shape (T, V, C)? pass X[None])"
        raise ValueError(
            f"{name} must be 4-D (n_segments, T, V, C) or 2-D (n_segments, T*V*C), got a "
            f"{ndim}-D array of shape {tuple(X.shape)}{hint}"
        )
    # sklearn's checks: numeric conversion (object arrays included), complex
    # data, empty arrays, minimum number of samples; finiteness is ours.
    X = check_array(
        X,
        dtype=[np.float32, np.float64],  # the first when X is neither
        allow_nd=True,
        ensure_all_finite=False,
        ensure_min_samples=min_segments,
        estimator=estimator_name,
        input_name=name,
    )
    n = X.shape[0]
    v_layout = graph.n_joints
    if X.ndim == 2:
        n_features = X.shape[1]
        if input_shape is not None:
            expected = int(np.prod(input_shape))
            if n_features != expected:
                raise ValueError(
                    f"{name} has {n_features} features, but {estimator_name} is expecting "
                    f"{expected} features as input (segments of shape (T, V, C) = "
                    f"{tuple(input_shape)} flattened)"
                )
            return X.reshape((n, *input_shape))
        per_frame = v_layout * flat_channels
        if n_features % per_frame != 0:
            raise ValueError(
                f"{name} has {n_features} feature(s), which is not a multiple of V * C = "
                f"{v_layout} * {flat_channels} = {per_frame} (layout={graph.name!r} has "
                f"{v_layout} joints, flat_channels={flat_channels}); 2-D input must be "
                f"(n_segments, T * V * C) flattened in C order from (n_segments, T, V, C)"
            )
        return X.reshape(n, n_features // per_frame, v_layout, flat_channels)

    _, t, v, c = X.shape
    if v != v_layout:
        suggestion = layout_for_joints(v)
        hint = (
            f"; use layout={suggestion!r}"
            if suggestion is not None
            else "; pass a SkeletonGraph with that many joints as layout"
        )
        raise ValueError(
            f"{name} has {v} joints (axis 2 of shape {X.shape}) but layout={graph.name!r} "
            f"expects {v_layout}{hint}"
        )
    if c not in (2, 3):
        raise ValueError(
            f"{name} must have C = 2 (x, y) or C = 3 (x, y, confidence) channels on its last "
            f"axis, got C = {c} (shape {X.shape})"
        )
    if input_shape is not None and (t, v, c) != tuple(input_shape):
        raise ValueError(
            f"{name} has segments of shape (T, V, C) = {(t, v, c)}, but {estimator_name} was "
            f"fitted on {tuple(input_shape)}"
        )
    return X


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def prepare_segments(
    X: np.ndarray, *, normalize: bool, name: str = "X", offset: int = 0
) -> np.ndarray:
    """Missing-joint rule, imputation and normalization; returns ``(n, 2, T, V)`` float32.

    A joint is *missing* when C = 3 and its confidence is <= 0; its (x, y) may
    then be anything, NaN included. Any other NaN or inf raises ValueError, as
    does a NaN/inf confidence or a segment without a single valid joint.
    Missing coordinates are filled by linear interpolation in time between
    the same joint's nearest valid frames (constant beyond the first/last
    valid frame, :func:`~pyod_dsnf.poses.gaps.interpolate_missing`); a joint
    missing in the whole segment takes the segment's centre. With ``normalize``
    each segment is centred on the mean (x, y) of its valid joints and divided
    by the root-mean-square distance of its valid coordinates from that centre
    (floored at :data:`SCALE_FLOOR` times the segment's largest absolute
    coordinate). ``offset`` is added to the segment
    indices in error messages (X is then a chunk of a longer input).
    """
    n, t, v, _ = X.shape
    out = np.empty((n, 2, t, v), dtype=np.float32)
    try:
        # a block at a time, so the float64 passes of the arithmetic run in cache
        for start in range(0, n, PREP_BLOCK):
            xy = _prepared_xy(X[start : start + PREP_BLOCK], normalize=normalize, name=name,
                              offset=offset + start)  # fmt: skip
            out[start : start + PREP_BLOCK] = xy.transpose(0, 3, 1, 2)
    except ValueError:
        if n <= PREP_BLOCK:
            raise
        _prepared_xy(X, normalize=normalize, name=name, offset=offset)  # counts over all of X
        raise
    return _finite(out, name, offset)


def _finite(out: np.ndarray, name: str, offset: int) -> np.ndarray:
    """``out`` (float32, one segment per row), or ValueError naming the first that overflowed."""
    if not np.isfinite(out).all():
        s = int(np.flatnonzero(~np.isfinite(out).reshape(len(out), -1).all(axis=1))[0]) + offset
        raise ValueError(
            f"{name} segment {s} does not fit in float32 after preparation (|coordinates| too "
            f"large); use normalize=True or rescale the coordinates"
        )
    return out


def _prepared_xy(X: np.ndarray, *, normalize: bool, name: str, offset: int) -> np.ndarray:
    """:func:`prepare_segments` before the layout change: ``(n, T, V, 2)`` float64."""
    n, t, v, c = X.shape
    xy = X[..., :2].astype(np.float64)
    if c == 3:
        conf = X[..., 2]
        bad_conf = ~np.isfinite(conf)
        if bad_conf.any():
            s, f, j = _first_index(bad_conf)
            s += offset
            raise ValueError(
                f"{name} has {int(bad_conf.sum())} NaN or inf confidence value(s) (first at "
                f"segment {s}, frame {f}, joint {j}); confidences must be finite, with <= 0 "
                f"marking a missing joint"
            )
        valid = conf > 0
    else:
        valid = np.ones((n, t, v), dtype=bool)
    all_valid = bool(valid.all())
    finite = np.isfinite(xy).all(axis=-1)
    bad = ~finite if all_valid else valid & ~finite
    if bad.any():
        s, f, j = _first_index(bad)
        s += offset
        rule = (
            "its confidence is > 0"
            if c == 3
            else "X has no confidence channel (C = 2), so no joint can be missing"
        )
        raise ValueError(
            f"{name} has NaN or inf coordinates in {int(bad.sum())} joint(s) (first at segment "
            f"{s}, frame {f}, joint {j}) and {rule}; a joint counts as missing only when C = 3 "
            f"and its confidence is <= 0 (set it to 0 or fill the coordinates)"
        )
    counts = np.full(n, t * v) if all_valid else valid.sum(axis=(1, 2))
    if (counts == 0).any():
        empty = np.flatnonzero(counts == 0)
        raise ValueError(
            f"{name} has {empty.size} segment(s) without any joint of confidence > 0 (first: "
            f"segment {int(empty[0]) + offset}); drop them before fitting or scoring"
        )

    if not all_valid:
        xy = np.where(valid[..., None], xy, 0.0)
    with np.errstate(over="ignore"):
        centre = xy.sum(axis=(1, 2)) / counts[:, None]  # (n, 2), over valid joints only
    if not np.isfinite(centre).all():  # the sum overflowed near the float64 maximum
        centre = (xy / counts[:, None, None, None]).sum(axis=(1, 2))
    if not all_valid:
        xy, never = interpolate_missing(xy, valid)
        xy = np.where(never[..., None], centre[:, None, None, :], xy)
    if normalize:
        xy = _normalize(xy, None if all_valid else valid, centre, counts)
    return xy


def _normalize(
    xy: np.ndarray, valid: np.ndarray | None, centre: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Centre each segment and divide by its RMS spread, without overflow or underflow.

    The RMS is computed on coordinates pre-divided by the segment's largest
    absolute deviation, so 1e300 does not overflow when squared and 1e-200 does
    not underflow; the floor is relative to the segment's magnitude. ``valid``
    None: every joint is valid (the same arithmetic without the masking passes).
    """

    def masked(a: np.ndarray) -> np.ndarray:
        return a if valid is None else np.where(valid[..., None], a, 0.0)

    centred = xy - centre[:, None, None, :]
    dev = masked(np.abs(centred)).max(axis=(1, 2, 3))
    unit = np.where(dev > 0, dev, 1.0)
    sq = masked((centred / unit[:, None, None, None]) ** 2)
    rms = unit * np.sqrt(sq.sum(axis=(1, 2, 3)) / (2.0 * counts))
    magnitude = masked(np.abs(xy)).max(axis=(1, 2, 3))
    floor = np.maximum(SCALE_FLOOR * magnitude, np.finfo(np.float64).tiny)
    return centred / np.maximum(rms, floor)[:, None, None, None]


def mirror_segments(data: np.ndarray, graph: SkeletonGraph, *, normalized: bool) -> np.ndarray:
    """Horizontal mirrors of prepared segments ``(n, 2, T, V)``.

    x is reflected (about 0 for normalized segments, about the segment's mean x
    otherwise) and every left/right joint pair of the layout is swapped, so a
    mirrored left arm is again a left arm in the layout's order.
    """
    out = data[..., graph.flip_index()].copy()
    if normalized:
        out[:, 0] = -out[:, 0]
    else:
        axis = data[:, 0].mean(axis=(1, 2), keepdims=True)
        out[:, 0] = 2.0 * axis - out[:, 0]
    return out


def normalize_segments(
    X: object, layout: str | SkeletonGraph = "coco17", *, normalize: bool = True
) -> np.ndarray:
    """The (x, y) segments exactly as :class:`DSNFDetector` feeds them to its flow.

    Applies the same checks, missing-joint rule, imputation and per-segment
    normalization as the detector, so other detectors (e.g. PyOD's on
    ``normalize_segments(X).reshape(len(X), -1)``) can be compared on equal input.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_segments, T, V, C)
        C = 2 (x, y) or 3 (x, y, confidence).
    layout : str or SkeletonGraph, default="coco17"
    normalize : bool, default=True
        Centre and scale every segment (as ``DSNFDetector(normalize=True)``).

    Returns
    -------
    ndarray of shape (n_segments, T, V, 2), float32

    Examples
    --------
    >>> import numpy as np
    >>> from pyod_dsnf import normalize_segments
    >>> normalize_segments(np.random.default_rng(0).normal(size=(4, 6, 17, 3))).shape
    (4, 6, 17, 2)
    """
    from pyod_dsnf.poses.skeletons import get_layout

    if np.ndim(X) != 4:
        raise ValueError(f"X must be 4-D (n_segments, T, V, C), got shape {np.shape(X)}")
    X4 = check_segments(X, get_layout(layout), flat_channels=2)
    return _finite(_prepared_xy(X4, normalize=normalize, name="X", offset=0).astype(np.float32),
                   "X", 0)  # fmt: skip


def check_y(y: Any, n_segments: int) -> None:
    """ValueError unless ``y`` is None or has one entry per segment (PyOD ignores its values)."""
    if y is not None and _num_samples(y) != n_segments:
        raise ValueError(f"y has {_num_samples(y)} entries but X has {n_segments} segments")
