"""Tolerances for float32 results compared across machines, derived from the arithmetic.

A float32 result written on one machine (a golden file, a model file's scores) and
recomputed on another differs by rounding alone: CPUs with AVX2, AVX-512 or NEON
block their matrix products and reductions differently, contract ``a * b + c``
into one fused multiply-add or not, and use different ``exp``/``log`` kernels. Each
rounded operation is exact up to a relative error of at most the unit roundoff
``u = 2**-24``. A tolerance taken from one machine's largest observed difference
(say ``1e-6``) says nothing about another machine; this module bounds the
difference from the size of the computation instead.

The model (Higham and Mary, "A new approach to probabilistic rounding error
analysis", SIAM J. Sci. Comput. 41(5), 2019): a value that passes through ``n``
rounded operations, each rounding independently, carries a relative error of at
most ``LAMBDA * sqrt(n) * u`` except with probability ``2 * exp(-LAMBDA**2 / 2)``
(below 1e-5 for ``LAMBDA = 5``). Two evaluations of the same formula in
different operation orders differ by at most twice that. A later step with
relative condition number ``condition`` (``|f'(x)| |x| / |f(x)|``, e.g.
``|b| / std`` for a z-score ``(b - mean) / std``) multiplies the relative error
into an absolute one of ``condition * |f(x)|``.

The worst-case bound (``n * u``) would be tighter to state but loose by orders of
magnitude for the reductions of a neural network; the probabilistic one is what
the literature recommends for them. Both give tolerances far below what a real
change of the computed function produces (a rewritten layer, a different
curvature clamp, a lost parameter: ``1e-3`` and up on these scores).
"""

from __future__ import annotations

import math

import numpy as np

#: Unit roundoff of IEEE float32: half the distance from 1.0 to the next float.
U32 = float(np.finfo(np.float32).eps) / 2
#: Multiple of the standard deviation of the accumulated rounding error
#: (the bound fails with probability at most ``2 * exp(-LAMBDA**2 / 2)`` < 1e-5).
LAMBDA = 5.0


def float32_atol(magnitude: float, n_ops: int, condition: float = 1.0) -> float:
    """Largest difference between two float32 evaluations of the same formula.

    Parameters
    ----------
    magnitude : float
        Size of the result (or of its terms, when they cancel: ``sum(|terms|)``).
    n_ops : int
        Rounded operations along the longest chain from the inputs to the result
        (a reduction of length ``k`` counts ``k``).
    condition : float, default=1.0
        Relative condition number of any step applied after that chain.
    """
    if n_ops < 1:
        raise ValueError(f"n_ops must be >= 1, got {n_ops}")
    return 2 * LAMBDA * math.sqrt(n_ops) * U32 * condition * float(magnitude)


def flow_ops(n_flow_steps: int, hidden_channels: int, n_joints: int, n_frames: int,
             channels: int) -> int:  # fmt: skip
    """Rounded operations along the longest chain of a DSNF flow's per-joint log-likelihood.

    Per flow step: ActNorm (2), the channel permutation (a reduction over the
    ``channels``), the coupling network (its widest reduction mixes
    ``hidden_channels`` channels over ``n_joints`` joints; counted once per
    branch, Euclidean and hyperbolic), and about 20 elementwise operations
    (``exp``/``log``/``tanh``/``artanh`` of the ball maps, the sigmoid scale, the
    affine update, the log-determinant term). Then the sum of a joint's
    ``n_frames * channels`` Gaussian and log-determinant terms.
    """
    per_step = 2 + channels + 2 * hidden_channels * n_joints + 20
    return n_flow_steps * per_step + n_frames * channels


def detector_score_atol(detector, joint_nll: np.ndarray) -> np.ndarray:
    """Per-segment tolerance on ``decision_function`` across machines.

    The scores are z-scores of each joint's NLL share ``b`` (bits/dim),
    ``(b - mean) / std``, then (``"joint"``) the largest over the joints or
    (``"nll"``) the sum of the shares: the share's relative rounding error
    reaches the score multiplied by ``|b| / std`` (or by ``|b|`` for the sum).

    Parameters
    ----------
    detector : DSNFDetector
        A fitted detector (its flow's size and the standardiser are read).
    joint_nll : ndarray of shape (n, V)
        The per-joint shares of the scored segments (``detector.joint_nll(X)``).
    """
    model = detector.model_
    n_ops = flow_ops(
        n_flow_steps=len(model.steps),
        hidden_channels=detector.get_params()["hidden_channels"],
        n_joints=model.n_joints,
        n_frames=model.n_frames,
        channels=model.in_channels,
    )
    if detector.anomaly_score_ == "nll":
        size = np.abs(joint_nll).sum(axis=1)
        return float32_atol(1.0, n_ops) * size
    size = (np.abs(joint_nll) / detector.joint_nll_std_).max(axis=1)
    return float32_atol(1.0, n_ops) * size


def assert_close_across_machines(actual: np.ndarray, expected: np.ndarray,
                                 atol: np.ndarray | float) -> None:  # fmt: skip
    """``|actual - expected| <= atol`` elementwise, with the worst ratio in the message."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, np.float64)
    diff = np.abs(actual - expected)
    atol = np.broadcast_to(np.asarray(atol, dtype=np.float64), diff.shape)
    worst = int(np.argmax(diff / atol))
    assert np.all(diff <= atol), (
        f"{int((diff > atol).sum())} of {diff.size} values differ by more than the float32 "
        f"bound; worst at {worst}: |{actual.flat[worst]} - {expected.flat[worst]}| = "
        f"{diff.flat[worst]:.3g} > {atol.flat[worst]:.3g}"
    )
