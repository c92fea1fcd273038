"""Comparing float32 scores computed on two devices: a tolerance from float32 arithmetic.

Two devices evaluate the same float32 flow with different kernels, so their sums
are rounded in different orders: neither result is "the" answer. Both are
compared with a float64 evaluation of the same weights (:func:`float64_joint_nll`),
and a device passes when its error against that reference is of the order of the
CPU's own float32 error (:func:`assert_float32_close`). The bound scales with the
computation rather than being read off one machine's output: a deeper flow, or
segments far in the tails, make the CPU's float32 error, and the bound, larger.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from pyod_dsnf.detector import orientation
from pyod_dsnf.detector._validation import _prepared_xy, check_segments
from pyod_dsnf.flow.model import nll_bits_per_dim

#: float32's machine epsilon, 2**-23.
EPS32 = float(np.finfo(np.float32).eps)
#: A device's float32 error may be this many times the CPU's (another summation order).
ORDER_FACTOR = 4.0
#: ... plus this many float32 ulps of each value (covers a CPU error that happens to be ~0).
ULPS = 16.0


def float64_joint_nll(det, X: np.ndarray) -> np.ndarray:
    """Per-joint NLL shares ``(n, V)`` of X by a float64 copy of ``det``'s flow on the CPU.

    The preparation (centring, scaling, the turn to the detector's upright frame) is
    float64 too, so the reference carries no float32 rounding at all.
    """
    X4 = check_segments(X, det.graph_, flat_channels=det.flat_channels,
                        input_shape=det.input_shape_)  # fmt: skip
    xy = _prepared_xy(X4, normalize=det.normalize, name="X", offset=0)
    upright = orientation.rotate_segments(np.ascontiguousarray(xy.transpose(0, 3, 1, 2)),
                                          orientation.detector_rotation(det))  # in float64
    data = torch.from_numpy(np.ascontiguousarray(upright))
    model = copy.deepcopy(det.model_).to(device="cpu", dtype=torch.float64).eval()
    with torch.no_grad():
        return nll_bits_per_dim(model.joint_log_prob(data), data[0].numel()).numpy()


def float32_bound(reference: np.ndarray, cpu: np.ndarray) -> np.ndarray:
    """Largest error allowed against ``reference`` (float64) given the CPU's float32 result."""
    return ORDER_FACTOR * np.abs(cpu - reference).max() + ULPS * EPS32 * np.abs(reference)


def assert_float32_close(
    got: np.ndarray, reference: np.ndarray, cpu: np.ndarray, what: str
) -> None:
    """``got`` is as close to the float64 ``reference`` as float32 on the CPU is (see above)."""
    err, bound = np.abs(got - reference), float32_bound(reference, cpu)
    worst = int(np.argmax(err - bound))
    assert (err <= bound).all(), (
        f"{what}: |error| {err.flat[worst]:.3g} > bound {bound.flat[worst]:.3g} (CPU float32 "
        f"error {np.abs(cpu - reference).max():.3g})"
    )
