"""DSNFDetector: the PyOD / scikit-learn detector over skeleton segments.

The estimator holds the parameters and the fitted state and follows the PyOD
contract; the work is done by modules named after what they do:

* :mod:`pyod_dsnf.detector._params`: the parameter table, checked once at the start of ``fit``;
* :mod:`pyod_dsnf.detector._validation`: input checks and preparation of the segments;
* :mod:`pyod_dsnf.detector._training_data`: the hold-out split and the mirrored copies;
* :mod:`pyod_dsnf.detector._device`: device, seeds, a local torch RNG, CPU threads;
* :mod:`pyod_dsnf.detector._training`: the AWAM training loop of the :class:`DSNFlow`;
* :mod:`pyod_dsnf.detector.scoring`: chunked scoring and the per-joint standardisation;
* :mod:`pyod_dsnf.detector.persistence`: the file format of :meth:`DSNFDetector.save`.

Parameters, input rules and the file format are described in ``docs/estimator.md``.
"""

from __future__ import annotations

import copy
import os
from functools import partial
from typing import Any

import numpy as np
import torch
from pyod.models.base import BaseDetector
from sklearn.utils.validation import check_is_fitted

from pyod_dsnf.detector import _device, orientation, persistence, scoring
from pyod_dsnf.detector._params import check_params
from pyod_dsnf.detector._training import TrainingConfig, build_flow, train_flow
from pyod_dsnf.detector._training_data import check_spread, training_sets
from pyod_dsnf.detector._validation import check_segments, check_y, prepare_segments
from pyod_dsnf.detector.persistence import DetectorFileError, FittedState
from pyod_dsnf.poses.skeletons import SkeletonGraph, get_layout

__all__ = ["DSNFDetector"]

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
        :class:`~pyod_dsnf.poses.skeletons.SkeletonGraph`; fixes the number of joints V.
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
        likelihood and skips the double backward (its cost, measured:
        docs/benchmark.md, "The AWAM term: exact or estimated").
    awam_tau : float, default=1.0
        Temperature of the AWAM sample weights.
    awam_prob : float in (0, 1], default=0.25
        Share of the training steps that include the AWAM term, weighted by
        ``1 / awam_prob`` when drawn: an unbiased estimate of the exact loss
        and its gradient at about ``awam_prob`` of the term's cost (docs/method.md,
        "The AWAM loss"). 1 computes the term at every step.
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
        standardised by its mean and standard deviation over the held-out
        training segments (see ``joint_nll_mean_``), and the score is the
        largest: a segment is as abnormal as its most atypical body part.
        Chosen on training clips (docs/benchmark.md): the total NLL ranks a
        still, clean pose as more normal than the window it came from and
        dilutes an anomaly of one limb over all 17 joints.
    normalize : bool, default=True
        Centre and scale every segment (translation and scale invariance);
        raw pixel coordinates then work directly.
    augment : bool, default=True
        Add left/right mirrored copies of the training segments.
    epochs : int, default=10
        Maximum number of training epochs.
    max_steps : int or None, default=700
        Maximum number of optimiser steps (mini-batches); training stops at
        ``epochs`` or ``max_steps``, whichever comes first. A number of steps
        means the same on any amount of data, where an epoch does not (one
        epoch of PoseLift at stride 6 is 319 steps, of a 20-camera archive
        thousands); on the training-clip protocol detection stops improving
        after about 700 steps while the likelihood goes on improving
        (docs/estimator.md, "Training length"). None: ``epochs`` alone.
    batch_size : int or "auto", default="auto"
        Mini-batch size for training. "auto": the device's rule
        (``pyod_dsnf.detector._batching``), 64 on the CPU and, for now, on CUDA
        too (larger batches with the square-root learning-rate rule lost AUC on
        PoseLift, docs/gpu.md). Scoring runs the flow on the CPU on cache-sized
        batches whatever this is (``pyod_dsnf.detector.scoring.forward_batch``:
        256 segments for the default model), on CUDA on batches of
        ``max(batch_size, 16384)``.
    lr : float, default=5e-3
        Learning rate of Riemannian Adam.
    weight_decay : float, default=0.0
        L2 weight decay of Riemannian Adam.
    max_grad_norm : float or None, default=5.0
        Clip the global gradient norm to this value (None: no clipping).
    validation_fraction : float in [0, 0.99], default=0.1
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
        exceed the cores. Scoring with more than one job uses one thread per job.
    n_jobs : int or None, default=None
        Chunks of segments scored at once on the CPU by threads of this process,
        each with one torch intra-op thread (scikit-learn's meaning: -1 every
        core, -2 all but one). None: 1, since two threads were not faster than
        one on the machines measured (docs/method.md, "Both cores"). Scores do
        not depend on it.
    compile : bool, str or callable, default=False
        Score through ``torch.compile`` of the flow's forward (True: Inductor;
        a string or callable: that ``torch.compile`` backend). The first call of
        a process compiles (minutes the first time on a machine; the built
        kernels are cached on disk, see ``pyod_dsnf.detector._compile`` for
        where and how to clear them); scores equal eager ones within float32
        round-off. Where compilation is unavailable or fails, a warning and
        eager scoring, never an error.

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
        Mean and standard deviation of each joint's NLL share (bits/dim),
        used by ``anomaly_score="joint"``: over the held-out segments
        (``validation_fraction``, never trained on) when there are at least
        50 of them, else over all the training segments.
    up_direction_ : ndarray of shape (2,)
        The body's up direction (unit vector, input coordinates) estimated
        from the training poses; every segment is turned so that it points to
        (0, -1) before the flow (docs/method.md, "Orientation"). (0, -1) means
        no turn.
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
    validation_index_ : ndarray of int
        Indices (sorted) of the training segments held out of training by
        ``validation_fraction``; not stored by :meth:`save`.
    calibration_ : dict, optional
        Set by :func:`pyod_dsnf.stream.calibrate_detector` (``pyod-dsnf fit``
        does it): what the stream needs to set alert thresholds from the
        held-out segments. Stored by :meth:`save`; None in files without one.

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
        awam_prob: float = 0.25,
        noise_std: float = 0.0,
        anomaly_score: str = "joint",
        normalize: bool = True,
        augment: bool = True,
        epochs: int = 10,
        max_steps: int | None = 700,
        batch_size: int | str = "auto",
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
        n_jobs: int | None = None,
        compile: bool | str = False,
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
        self.awam_prob = awam_prob
        self.noise_std = noise_std
        self.anomaly_score = anomaly_score
        self.normalize = normalize
        self.augment = augment
        self.epochs = epochs
        self.max_steps = max_steps
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
        self.n_jobs = n_jobs
        self.compile = compile

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
        check_params(self.get_params(deep=False))
        scoring.check_options(self.n_jobs, self.compile)
        with _device.torch_threads(self.n_threads):
            return self._fit(X, y)

    def _fit(self, X: Any, y: Any) -> DSNFDetector:
        graph = get_layout(self.layout)
        X4 = check_segments(X, graph, flat_channels=self.flat_channels, min_segments=2,
                            estimator_name=type(self).__name__)  # fmt: skip
        check_y(y, len(X4))
        device = _device.resolve_device(self.device)
        torch_seed, rng = _device.seeds_from(self.random_state)
        # DSNFlow checks its own parameters (and temporal_kernel against T) here
        model = build_flow(self.get_params(deep=False), graph, int(X4.shape[1]), torch_seed)
        data = prepare_segments(X4, normalize=self.normalize)
        data, self.up_direction_ = orientation.canonical_segments(data, X4, graph)  # upright
        check_spread(data, normalize=self.normalize)
        train, val, val_index = training_sets(
            data, graph, validation_fraction=self.validation_fraction, augment=self.augment,
            normalized=self.normalize, rng=rng, stacklevel=3, return_index=True)  # fmt: skip
        self.graph_, self.input_shape_, self.validation_index_ = graph, X4.shape[1:], val_index
        self.model_ = model.to(device)
        device = next(self.model_.parameters()).device  # "cuda" -> "cuda:0": one device
        config = TrainingConfig.from_params(self.get_params(deep=False), device)
        with _device.local_torch_rng(torch_seed + 1, device):
            self.history_, self.n_epochs_ = train_flow(self.model_, train, val, config, rng=rng,
                                                       device=device)  # fmt: skip
        self.device_, self.curvature_ = str(device), self.model_.curvature
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.anomaly_score_ = self.anomaly_score
        joint, standardizer = scoring.training_scores(
            self.model_, data, val, device=device, batch_size=self.batch_size,
            **scoring.options(self, device))  # fmt: skip
        self.joint_nll_mean_, self.joint_nll_std_ = standardizer.mean, standardizer.std
        self.decision_scores_ = self._aggregate(joint)
        self._set_pyod_state()
        return self

    def _set_pyod_state(self) -> None:
        """PyOD's fitted state (``threshold_``, ``labels_``, ``_mu``, ``_sigma``, ``_classes``).

        Computed from ``decision_scores_`` by PyOD itself, after fit and after load.
        """
        self._classes = 2  # PyOD's predict_proba: inlier / outlier
        self._process_decision_scores()

    # ----------------------------------------------------------------- scoring
    def _prepare_chunk(self, X: Any, offset: int, device: torch.device) -> Any:
        """Validate and prepare one chunk of segments (``offset``: its place in X)."""
        X4 = check_segments(X, self.graph_, flat_channels=self.flat_channels,
                            input_shape=self.input_shape_, estimator_name=type(self).__name__)
        data = scoring.prepare_for(device, X4, normalize=self.normalize, offset=offset)
        return orientation.rotate_segments(data, orientation.detector_rotation(self))  # upright

    def _aggregate(self, joint: np.ndarray, kind: str | None = None) -> np.ndarray:
        kind = self.anomaly_score_ if kind is None else kind
        return scoring.JointStandardizer.of(self).scores(joint, kind)

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

        Notes
        -----
        Segments are validated, prepared and scored ``max(batch_size,
        scoring.SCORE_CHUNK)`` at a time (on a CUDA device
        ``scoring.CUDA_SCORE_CHUNK``, the next chunk prepared while the GPU
        scores one), so memory beyond X itself stays bounded; X may be a
        ``np.memmap`` or a strided view (e.g. windows from
        ``numpy.lib.stride_tricks.sliding_window_view``) larger than memory.
        """
        check_is_fitted(self, ["model_", "decision_scores_"])
        # warnings name the caller of decision_function / score_samples (the usual path)
        device = scoring.scoring_device(self.model_, self.device_, stacklevel=3)
        with _device.torch_threads(self.n_threads):
            prepare = partial(self._prepare_chunk, device=device)
            joint = scoring.score_segments(X, prepare, model=self.model_, device=device,
                                           batch_size=self.batch_size,
                                           n_joints=self.input_shape_[1],
                                           **scoring.options(self, device))  # fmt: skip
        scoring.warn_infinite(joint.sum(axis=1), "the segments", stacklevel=3)
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
        return self._aggregate(joint, anomaly_score)

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
        Scored in bounded memory, a chunk at a time (see :meth:`joint_nll`).
        """
        return self._aggregate(self.joint_nll(X))

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

    # ------------------------------------------------------------ fitted state
    def _restore(self, state: FittedState, weights: dict, device: torch.device) -> None:
        """Take the fitted state of a file (checked by ``check_fitted_state``)."""
        check_params(self.get_params(deep=False))
        graph = get_layout(self.layout)
        model = build_flow(self.get_params(deep=False), graph, state.input_shape[0], 0)
        persistence.load_weights(model, weights)
        self.graph_, self.input_shape_ = graph, state.input_shape
        self.n_features_in_ = int(np.prod(state.input_shape))
        self.n_epochs_, self.history_ = state.n_epochs, state.history
        self.curvature_, self.anomaly_score_ = state.curvature, state.anomaly_score
        self.joint_nll_mean_, self.joint_nll_std_ = state.joint_nll_mean, state.joint_nll_std
        self.up_direction_, self.calibration_ = state.up_direction, state.calibration
        self.model_ = model.eval().to(device)
        self.device_ = str(next(self.model_.parameters()).device)  # "cuda" -> "cuda:0"
        self.decision_scores_ = state.decision_scores
        self._set_pyod_state()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        model = state.get("model_")
        if model is not None and any(p.device.type != "cpu" for p in model.parameters()):
            state["model_"] = copy.deepcopy(model).to("cpu")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if getattr(self, "model_", None) is not None and hasattr(self, "device_"):
            self.device_ = _device.unpickled_device(self.device_, stacklevel=2)

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted detector to ``path`` (weights + JSON, no pickled code).

        Parameters
        ----------
        path : str or path-like
            Target file; written atomically (temporary file, then rename).
        """
        check_is_fitted(self, ["model_", "decision_scores_"])
        values, arrays = persistence.fitted_state(self)
        persistence.write_detector_file(path, params=self.get_params(deep=False), fitted=values,
                                        arrays=arrays, state_dict=self.model_.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> DSNFDetector:
        """Read a detector written by :meth:`save` (any earlier file format too).

        Parameters
        ----------
        path : str or path-like
        device : str, default="cpu"
            Where to put the model ("auto" for CUDA when available), whatever
            device it was trained on: by default a model trained on a GPU is
            loaded onto the CPU. ``device_`` of the result says where it is. A
            CUDA device that is absent here (or an index beyond this machine's
            GPUs) falls back to the CPU with a warning, so a model trained on a
            GPU always loads. Scores on another device than the training one agree
            with the training device's within float32 round-off (docs/estimator.md,
            "Devices"), not bit for bit.

        Returns
        -------
        DSNFDetector

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The file is truncated or damaged, not a pyod-dsnf model, of an
            unsupported version, or its content is malformed; the message says which.
        """
        saved = persistence.read_detector_file(path)
        dev = _device.load_device(device, stacklevel=2)
        try:
            detector = cls(**saved.params)
            state = persistence.check_fitted_state(saved.fitted, saved.arrays)
            detector._restore(state, saved.state_dict, dev)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            raise DetectorFileError(path, f"{type(exc).__name__}: {exc}") from exc
        return detector
