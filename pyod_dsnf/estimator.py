"""DSNFDetector: the PyOD / scikit-learn detector over skeleton segments.

The estimator validates and prepares the segments (:mod:`pyod_dsnf._validation`),
builds a :class:`pyod_dsnf.flow.DSNFlow`, trains it with the AWAM loss
(:mod:`pyod_dsnf._training`) and scores segments by their negative
log-likelihood in bits per dimension. Parameters, input rules and the
persistence format are described in ``docs/estimator.md``.
"""

from __future__ import annotations

import copy
import numbers
import os
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from pyod.models.base import BaseDetector
from sklearn.utils.validation import _num_samples, check_is_fitted

from pyod_dsnf._threads import default_threads
from pyod_dsnf._training import joint_nll_bits_per_dim, train_flow
from pyod_dsnf._validation import check_segments, mirror_segments, prepare_segments
from pyod_dsnf.flow import DSNFlow
from pyod_dsnf.graph import SkeletonGraph, get_layout

__all__ = ["DSNFDetector"]

_SPACES = ("dual", "euclidean", "hyperbolic")
#: Segments validated, prepared and scored at a time by ``decision_function``
#: (or ``batch_size`` if larger): scoring memory beyond the input itself stays
#: bounded whatever the number of segments (see docs/guarantees.md).
SCORE_CHUNK = 4096
#: Smallest forward batch when scoring: on CPU the flow scores several times more
#: segments per second in batches of ~1k than in training-sized batches of 64.
SCORE_BATCH = 1024
_PERMUTATIONS = ("reverse", "invconv")
_ANOMALY_SCORES = ("joint", "nll")


def _resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; other strings are checked for availability."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto' or a torch device string such as 'cpu' or 'cuda:0', "
            f"got {device!r}"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
            f"device(s) exist"
        )
    return dev


def _seed_from(random_state: Any) -> int:
    """A 63-bit seed from random_state without touching numpy's global RNG."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**63 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or RandomState, got {random_state!r}"
    )


@contextmanager
def _local_torch_rng(seed: int, device: torch.device):
    """Run with torch's global RNG seeded by ``seed``; the caller's RNG state is restored."""
    devices = (
        [device.index if device.index is not None else torch.cuda.current_device()]
        if (device.type == "cuda")
        else []
    )
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextmanager
def _torch_threads(n_threads: int | None):
    """Run with ``n_threads`` torch intra-op threads; restore afterwards.

    None: :func:`pyod_dsnf._threads.default_threads`.
    """
    if n_threads is None:
        n_threads = default_threads()
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 1:
        raise ValueError(f"n_threads must be an integer >= 1 or None, got {n_threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class DSNFDetector(BaseDetector):
    """Dual-Space Normalizing Flow (DSNF) anomaly detector for skeleton segments.

    A normalizing flow over pose segments whose coupling networks run a
    Euclidean and a hyperbolic (Poincaré-ball) spatio-temporal graph network
    side by side, trained on normal segments by maximum likelihood with the
    AWAM regulariser. The anomaly score is built from the segment's negative
    log-likelihood (NLL): by default its most atypical body joint (see
    ``anomaly_score``), or the NLL itself; higher = more abnormal.

    Parameters
    ----------
    contamination : float in (0, 0.5], default=0.1
        Expected share of anomalies in the training data; sets ``threshold_``.
    layout : str or SkeletonGraph, default="coco17"
        Skeleton layout ("coco17", "openpose18") or a custom
        :class:`~pyod_dsnf.graph.SkeletonGraph`; fixes the number of joints V.
    space : {"dual", "euclidean", "hyperbolic"}, default="dual"
        Branches of the coupling network ("euclidean" is an STG-NF-like
        baseline).
    curvature : float, default=1.0
        Curvature c > 0 of the Poincaré ball (unused for ``space="euclidean"``).
    learn_curvature : bool, default=False
        Train the curvature with the other parameters.
    n_flow_steps : int, default=8
        Number K of flow steps.
    hidden_channels : int, default=4
        Width H of the coupling networks.
    temporal_kernel : int, default=3
        Odd temporal kernel size of the graph layers; must not exceed T.
    permutation : {"reverse", "invconv"}, default="reverse"
        Channel permutation between couplings.
    awam_lambda : float, default=0.1
        Weight of the AWAM input-gradient penalty; 0 gives plain maximum
        likelihood (and skips the double backward, about 3x faster).
    awam_tau : float, default=1.0
        Temperature of the AWAM sample weights.
    noise_std : float, default=0.0
        Standard deviation of Gaussian noise added afresh to every training
        batch, in the units of the prepared segments (with ``normalize=True``
        a segment's coordinates have unit RMS). Training data with exactly
        repeated frames (a pose estimator holding a pose) lie on a
        lower-dimensional set where an unregularised flow can concentrate
        unbounded density; the noise bounds it. 0 disables it.
    anomaly_score : {"joint", "nll"}, default="joint"
        How a segment's NLL becomes its anomaly score. "nll": the NLL in bits
        per dimension. "joint": the NLL is split exactly into one share per
        joint (:meth:`pyod_dsnf.flow.DSNFlow.joint_log_prob`), each share is
        standardised by its mean and standard deviation over the training
        segments, and the score is the largest: a segment is as abnormal as
        its most atypical body part. Chosen on training clips (docs/benchmark.md):
        the total NLL ranks a still, clean pose as more normal than the window it
        came from and dilutes an anomaly of one limb over all 17 joints.
    normalize : bool, default=True
        Centre and scale every segment (translation and scale invariance);
        raw pixel coordinates then work directly.
    augment : bool, default=True
        Add left/right mirrored copies of the training segments.
    epochs : int, default=10
        Maximum number of training epochs.
    batch_size : int, default=64
        Mini-batch size for training; scoring runs the flow on batches of
        ``max(batch_size, 1024)`` segments (same scores, higher throughput).
    lr : float, default=5e-3
        Learning rate of Riemannian Adam.
    weight_decay : float, default=0.0
        L2 weight decay of Riemannian Adam.
    max_grad_norm : float or None, default=5.0
        Clip the global gradient norm to this value (None: no clipping).
    validation_fraction : float in [0, 1), default=0.1
        Share of the training segments held out to monitor the NLL (taken
        before augmentation). 0 disables the hold-out.
    n_iter_no_change : int or None, default=5
        Stop when the held-out NLL has not improved by ``tol`` for this many
        epochs and restore the best epoch's weights. None trains all epochs.
    tol : float, default=1e-4
        Minimum improvement of the held-out NLL (bits/dim) for early stopping.
    flat_channels : {2, 3}, default=2
        Channels C per joint assumed when ``fit`` receives 2-D input
        ``(n_segments, T * V * C)``; then T = n_features / (V * C).
    device : str, default="auto"
        "auto" (CUDA when available, else CPU) or a torch device string.
    random_state : int, numpy Generator/RandomState or None, default=None
        Seed of the model initialisation, the validation split and the batch
        order. The global numpy and torch RNG states are left untouched.
    verbose : int, default=0
        1 or more shows a tqdm progress bar over the batches (epoch and loss beside it).
    n_threads : int or None, default=None
        Torch intra-op CPU threads used during ``fit`` and scoring, set on
        entry and restored on exit (torch's setting is process-wide, so never
        left changed). None: ``min(2, cores - 1)``, at least 1, and no more
        than torch's current setting (which in joblib's default (loky)
        workers, e.g. ``GridSearchCV(n_jobs=k)``, is already ``cpu_count // k``),
        so a fit never claims every core of a shared machine; on an idle
        machine ask for more (docs/benchmark.md, "Threads"). With the threading
        backend set ``n_threads`` so that ``n_jobs * n_threads`` does not
        exceed the cores.

    Attributes
    ----------
    decision_scores_ : ndarray of shape (n_segments,)
        Anomaly scores of the training segments (mirrors excluded).
    threshold_ : float
        Score above which a segment is labelled abnormal.
    labels_ : ndarray of shape (n_segments,)
        0/1 labels of the training segments.
    model_ : DSNFlow
        The trained flow (in eval mode).
    curvature_ : float or None
        Curvature after training (None for ``space="euclidean"``).
    anomaly_score_ : str
        The ``anomaly_score`` used (fixed at fit).
    joint_nll_mean_, joint_nll_std_ : ndarray of shape (V,)
        Mean and standard deviation of each joint's NLL share over the
        training segments (bits/dim), used by ``anomaly_score="joint"``.
    n_features_in_ : int
        T * V * C of the training segments.
    input_shape_ : tuple of int
        (T, V, C) of the training segments.
    history_ : dict of str to list of float
        Per epoch: "train_loss" (AWAM loss), "train_nll" and "validation_nll"
        (bits/dim; empty without a hold-out).
    n_epochs_ : int
        Number of epochs run.
    device_ : str
        Device the model lives on for scoring.

    Examples
    --------
    >>> import numpy as np
    >>> from pyod_dsnf import DSNFDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 8, 17, 2))
    >>> det = DSNFDetector(epochs=2, n_flow_steps=2, hidden_channels=4, random_state=0)
    >>> det.fit(X).decision_function(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        contamination: float = 0.1,
        layout: str | SkeletonGraph = "coco17",
        space: str = "dual",
        curvature: float = 1.0,
        learn_curvature: bool = False,
        n_flow_steps: int = 8,
        hidden_channels: int = 4,
        temporal_kernel: int = 3,
        permutation: str = "reverse",
        awam_lambda: float = 0.1,
        awam_tau: float = 1.0,
        noise_std: float = 0.0,
        anomaly_score: str = "joint",
        normalize: bool = True,
        augment: bool = True,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 5e-3,
        weight_decay: float = 0.0,
        max_grad_norm: float | None = 5.0,
        validation_fraction: float = 0.1,
        n_iter_no_change: int | None = 5,
        tol: float = 1e-4,
        flat_channels: int = 2,
        device: str = "auto",
        random_state: Any = None,
        verbose: int = 0,
        n_threads: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.layout = layout
        self.space = space
        self.curvature = curvature
        self.learn_curvature = learn_curvature
        self.n_flow_steps = n_flow_steps
        self.hidden_channels = hidden_channels
        self.temporal_kernel = temporal_kernel
        self.permutation = permutation
        self.awam_lambda = awam_lambda
        self.awam_tau = awam_tau
        self.noise_std = noise_std
        self.anomaly_score = anomaly_score
        self.normalize = normalize
        self.augment = augment
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.flat_channels = flat_channels
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> SkeletonGraph:
        """Validate the hyper-parameters; return the layout's graph."""

        def number(name: str, low: float, high: float = np.inf, *, integer: bool = False,
                   low_open: bool = False, none_ok: bool = False) -> None:  # fmt: skip
            value = getattr(self, name)
            if value is None and none_ok:
                return
            kind = numbers.Integral if integer else numbers.Real
            ok = isinstance(value, kind) and not isinstance(value, bool)
            ok = ok and np.isfinite(value) and (value > low if low_open else value >= low)
            ok = ok and value <= high
            if not ok:
                lo = f"> {low}" if low_open else f">= {low}"
                hi = "" if high == np.inf else f" and <= {high}"
                what = "an integer" if integer else "a finite number"
                none = " or None" if none_ok else ""
                raise ValueError(f"{name} must be {what} {lo}{hi}{none}, got {value!r}")

        c = self.contamination
        if isinstance(c, numbers.Real) and not isinstance(c, bool):
            if not 0.0 < c <= 0.5:
                raise ValueError(f"contamination must be in (0, 0.5], got {c!r}")
        elif not hasattr(c, "fit"):
            raise ValueError(
                f"contamination must be a float in (0, 0.5] or a PyThresh thresholder, got {c!r}"
            )
        graph = get_layout(self.layout)
        if self.space not in _SPACES:
            raise ValueError(f"space must be one of {_SPACES}, got {self.space!r}")
        if self.permutation not in _PERMUTATIONS:
            raise ValueError(
                f"permutation must be one of {_PERMUTATIONS}, got {self.permutation!r}"
            )
        number("curvature", 0.0, low_open=True)
        number("n_flow_steps", 1, integer=True)
        number("hidden_channels", 1, integer=True)
        number("temporal_kernel", 1, integer=True)
        if self.temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd, got {self.temporal_kernel}")
        number("awam_lambda", 0.0)
        number("awam_tau", 0.0, low_open=True)
        number("noise_std", 0.0)
        if self.anomaly_score not in _ANOMALY_SCORES:
            raise ValueError(
                f"anomaly_score must be one of {_ANOMALY_SCORES}, got {self.anomaly_score!r}"
            )
        number("epochs", 1, integer=True)
        number("batch_size", 1, integer=True)
        number("lr", 0.0, low_open=True)
        number("weight_decay", 0.0)
        number("max_grad_norm", 0.0, low_open=True, none_ok=True)
        number("validation_fraction", 0.0, 0.99)
        number("n_iter_no_change", 1, integer=True, none_ok=True)
        number("tol", 0.0)
        number("verbose", 0, integer=True)
        number("n_threads", 1, integer=True, none_ok=True)
        if self.flat_channels not in (2, 3) or isinstance(self.flat_channels, bool):
            raise ValueError(f"flat_channels must be 2 or 3, got {self.flat_channels!r}")
        for flag in ("learn_curvature", "normalize", "augment"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        return graph

    def _segments(self, X: Any, *, fitting: bool, offset: int = 0) -> np.ndarray:
        """Validated, prepared flow input (n, 2, T, V) float32."""
        graph = get_layout(self.layout) if fitting else self.graph_
        X4 = check_segments(
            X,
            graph,
            flat_channels=self.flat_channels,
            input_shape=None if fitting else self.input_shape_,
            min_segments=2 if fitting else 1,
            estimator_name=type(self).__name__,
        )
        if fitting:
            t = X4.shape[1]
            if t < self.temporal_kernel:
                raise ValueError(
                    f"X has T = {t} frames per segment but temporal_kernel="
                    f"{self.temporal_kernel} needs T >= {self.temporal_kernel}; use longer "
                    f"segments or a smaller temporal_kernel"
                )
            self.input_shape_ = tuple(int(s) for s in X4.shape[1:])
        return prepare_segments(X4, normalize=self.normalize, offset=offset)

    # ------------------------------------------------------------------- model
    def _build_model(self, n_frames: int, seed: int, device: torch.device) -> DSNFlow:
        with _local_torch_rng(seed, device):
            model = DSNFlow(
                in_channels=2,
                n_frames=n_frames,
                graph=self.graph_,
                n_flow_steps=self.n_flow_steps,
                hidden_channels=self.hidden_channels,
                space=self.space,
                curvature=float(self.curvature),
                learn_curvature=bool(self.learn_curvature),
                permutation=self.permutation,
                temporal_kernel=self.temporal_kernel,
            )
        return model.to(device)

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None) -> DSNFDetector:
        """Train the flow on (normal) skeleton segments.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_segments, T, V, C) or (n_segments, T*V*C)
            Training segments, C = 2 (x, y) or 3 (x, y, confidence). 2-D input
            is read as C-order flattened (T, V, C) with C = ``flat_channels``.
        y : ignored
            Accepted for API consistency (e.g. GridSearchCV with labels);
            its length must match X when given.

        Returns
        -------
        self : DSNFDetector
        """
        # a failed refit must not leave a previous model next to new shapes
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, key)
        graph = self._check_params()
        with _torch_threads(self.n_threads):
            return self._fit(X, y, graph)

    def _fit(self, X: Any, y: Any, graph: SkeletonGraph) -> DSNFDetector:
        data = self._segments(X, fitting=True)
        self.graph_ = graph
        n = data.shape[0]
        if y is not None and _num_samples(y) != n:
            raise ValueError(f"y has {_num_samples(y)} entries but X has {n} segments")
        spread = data.std(axis=(0, 2, 3), dtype=np.float64)
        if (spread < 1e-6).any():
            axis = "xy"[int(np.argmin(spread))]
            raise ValueError(
                f"the {axis} coordinates of the training segments do not vary (standard deviation "
                f"{spread.min():.1e} after preparation, e.g. all-constant or identical segments); "
                f"a density cannot be fitted to a single point: give varied segments"
                + (" or use normalize=False" if self.normalize else "")
            )
        self._classes = 2
        device = _resolve_device(self.device)
        seed = _seed_from(self.random_state)
        seq = np.random.SeedSequence(seed)
        torch_seed = int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        rng = np.random.default_rng(seq.spawn(1)[0])

        n_val = round(n * self.validation_fraction) if self.validation_fraction > 0 else 0
        if self.validation_fraction > 0 and n_val == 0:
            n_val = 1
        if n_val and n - n_val < 2:
            warnings.warn(
                f"X has only {n} segments, too few for validation_fraction="
                f"{self.validation_fraction}; training on all of them without a hold-out",
                UserWarning,
                stacklevel=2,
            )
            n_val = 0
        order = rng.permutation(n)
        train_np, val_np = data[order[n_val:]], data[order[:n_val]]
        if self.augment:
            train_np = np.concatenate(
                [train_np, mirror_segments(train_np, self.graph_, normalized=self.normalize)]
            )
        t = self.input_shape_[0]
        self.model_ = self._build_model(t, torch_seed, device)
        settings = (
            f"lr={self.lr}, space={self.space!r}, curvature={self.curvature}, "
            f"awam_lambda={self.awam_lambda}, max_grad_norm={self.max_grad_norm}"
        )
        with _local_torch_rng(torch_seed + 1, device):
            self.history_, self.n_epochs_ = train_flow(
                self.model_,
                torch.from_numpy(train_np),
                torch.from_numpy(val_np) if n_val else None,
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=float(self.lr),
                weight_decay=float(self.weight_decay),
                max_grad_norm=None if self.max_grad_norm is None else float(self.max_grad_norm),
                awam_lambda=float(self.awam_lambda),
                awam_tau=float(self.awam_tau),
                noise_std=float(self.noise_std),
                n_iter_no_change=self.n_iter_no_change,
                tol=float(self.tol),
                rng=rng,
                device=device,
                verbose=self.verbose,
                settings=settings,
            )
        self.device_ = str(device)
        self.curvature_ = self.model_.curvature
        self.n_features_in_ = int(np.prod(self.input_shape_))
        joint = self._joint_nll(data, "the training segments")
        self.anomaly_score_ = self.anomaly_score
        self.joint_nll_mean_ = joint.mean(axis=0)
        # a floor keeps the standardisation finite should a joint's share never vary
        self.joint_nll_std_ = np.maximum(joint.std(axis=0), 1e-12)
        self.decision_scores_ = self._aggregate(joint)
        self._process_decision_scores()
        return self

    # ----------------------------------------------------------------- scoring
    def _scoring_device(self) -> torch.device:
        """The fitted device, or CPU (with a warning) where it is not available here."""
        dev = torch.device(self.device_)
        if dev.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"this detector was trained on {self.device_}, which is not available here; "
                f"scoring on the CPU",
                UserWarning,
                stacklevel=3,
            )
            self.device_ = "cpu"
            dev = torch.device("cpu")
        if next(self.model_.parameters()).device != dev:
            self.model_.to(dev)
        return dev

    def _joint_nll(
        self, data: np.ndarray, what: str, *, offset: int = 0, warn: bool = True
    ) -> np.ndarray:
        """Per-joint NLL shares ``(n, V)`` (bits/dim) of prepared segments."""
        device = self._scoring_device()
        batch = max(int(self.batch_size), SCORE_BATCH)
        joint = joint_nll_bits_per_dim(self.model_, torch.from_numpy(data), batch, device)
        bad = np.isnan(joint).any(axis=1)
        if bad.any():
            first = int(np.flatnonzero(bad)[0]) + offset
            raise FloatingPointError(
                f"the flow returned NaN for {int(bad.sum())} of {what} (first: "
                f"segment {first}); the model is numerically unstable for this input: refit "
                f"with a smaller lr or curvature, or keep normalize=True"
            )
        if warn:
            self._warn_infinite(joint.sum(axis=1), what)
        return joint

    def anomaly_scores_from_joint(
        self, joint: np.ndarray, anomaly_score: str | None = None
    ) -> np.ndarray:
        """Anomaly scores from per-joint NLL shares, as :meth:`decision_function` makes them.

        Lets one :meth:`joint_nll` pass give both kinds of score.

        Parameters
        ----------
        joint : ndarray of shape (n_segments, V)
            Output of :meth:`joint_nll`.
        anomaly_score : {"joint", "nll"} or None, default=None
            The rule to apply; None uses the fitted ``anomaly_score_``.

        Returns
        -------
        ndarray of shape (n_segments,), float64
        """
        check_is_fitted(self, ["model_", "joint_nll_mean_"])
        kind = self.anomaly_score_ if anomaly_score is None else anomaly_score
        if kind not in _ANOMALY_SCORES:
            raise ValueError(f"anomaly_score must be one of {_ANOMALY_SCORES}, got {kind!r}")
        joint = np.asarray(joint, dtype=np.float64)
        if joint.ndim != 2 or joint.shape[1] != self.joint_nll_mean_.shape[0]:
            raise ValueError(
                f"joint must have shape (n_segments, {self.joint_nll_mean_.shape[0]}) as "
                f"returned by joint_nll, got {joint.shape}"
            )
        return self._aggregate(joint, kind)

    def _aggregate(self, joint: np.ndarray, kind: str | None = None) -> np.ndarray:
        """Anomaly scores from per-joint NLL shares (see ``anomaly_score``)."""
        if (self.anomaly_score_ if kind is None else kind) == "nll":
            return joint.sum(axis=1)
        with np.errstate(invalid="ignore", over="ignore"):
            z = (joint - self.joint_nll_mean_) / self.joint_nll_std_
        # an infinite share (far outside the data) stays the most abnormal
        return np.where(np.isinf(joint).any(axis=1), np.inf, np.nanmax(z, axis=1))

    @staticmethod
    def _warn_infinite(scores: np.ndarray, what: str) -> None:
        if np.isinf(scores).any():
            warnings.warn(
                f"{int(np.isinf(scores).sum())} of {what} have an infinite NLL (far outside "
                f"the training data); they rank as most abnormal",
                UserWarning,
                stacklevel=4,
            )

    def _score_joint(self, X: Any) -> np.ndarray:
        """Per-joint NLL shares of X, validated, prepared and scored chunk by chunk."""
        chunk = max(int(self.batch_size), SCORE_CHUNK)
        shape = getattr(X, "shape", None)
        n = int(shape[0]) if shape is not None and len(shape) in (2, 4) else 0
        if n <= chunk:
            return self._joint_nll(self._segments(X, fitting=False), "the segments")
        out = np.empty((n, self.input_shape_[1]), dtype=np.float64)
        for start in range(0, n, chunk):
            part = self._segments(X[start : start + chunk], fitting=False, offset=start)
            out[start : start + chunk] = self._joint_nll(
                part, "the segments", offset=start, warn=False
            )
        self._warn_infinite(out.sum(axis=1), "the segments")
        return out

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores (see ``anomaly_score``), higher = more abnormal.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_segments, T, V, C) or (n_segments, T*V*C)
            Segments with the (T, V, C) seen at fit.

        Returns
        -------
        ndarray of shape (n_segments,), float64

        Notes
        -----
        Segments are validated, prepared and scored ``max(batch_size,
        SCORE_CHUNK)`` at a time, so memory beyond X itself stays bounded;
        X may be a ``np.memmap`` or a strided view (e.g. windows from
        ``numpy.lib.stride_tricks.sliding_window_view``) larger than memory.
        """
        return self._aggregate(self.joint_nll(X))

    def joint_nll(self, X: Any) -> np.ndarray:
        """Each joint's share of the segment NLL, bits per dimension.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_segments, T, V, C) or (n_segments, T*V*C)

        Returns
        -------
        ndarray of shape (n_segments, V), float64
            Rows sum to the segments' NLL (``-score_samples(X)``); compare a
            column with ``joint_nll_mean_`` and ``joint_nll_std_`` to see which
            body part makes a segment abnormal.
        """
        check_is_fitted(self, ["model_", "decision_scores_"])
        with _torch_threads(self.n_threads):
            return self._score_joint(X)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of each segment in bits per dimension, higher = more normal.

        With ``anomaly_score="nll"`` this is ``-decision_function(X)``.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_segments, T, V, C) or (n_segments, T*V*C)

        Returns
        -------
        ndarray of shape (n_segments,), float64
        """
        return -self.joint_nll(X).sum(axis=1)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood (bits/dim) of X: the unsupervised model-selection score.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_segments, T, V, C) or (n_segments, T*V*C)
        y : ignored

        Returns
        -------
        float
            Higher is better, so ``GridSearchCV`` without a scorer picks the
            parameters with the best held-out likelihood.
        """
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------- persistence
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        model = state.get("model_")
        if model is not None and any(p.device.type != "cpu" for p in model.parameters()):
            state["model_"] = copy.deepcopy(model).to("cpu")
        return state

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted detector to ``path`` (weights + JSON, no pickled code).

        Parameters
        ----------
        path : str or path-like
            Target file; written atomically (temporary file, then rename).
        """
        from pyod_dsnf.persistence import save_detector

        save_detector(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> DSNFDetector:
        """Read a detector written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : str, default="cpu"
            Where to put the model ("auto" for CUDA when available). A CUDA
            device that is absent here falls back to the CPU with a warning,
            so a model trained on a GPU always loads.

        Returns
        -------
        DSNFDetector
        """
        from pyod_dsnf.persistence import load_detector

        return load_detector(cls, path, device=device)
