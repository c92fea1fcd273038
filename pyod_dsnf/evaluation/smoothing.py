"""Gaussian smoothing of per-frame scores (numpy only).

Equal to ``scipy.ndimage.gaussian_filter1d(x, sigma)`` with its defaults
(``mode="reflect"``, ``truncate=4.0``), which is what STG-NF applies; the tests
check the two agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gaussian_smooth"]


def gaussian_smooth(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Smooth a 1-D array with a normalised Gaussian kernel, edges reflected.

    Parameters
    ----------
    x : ndarray of shape (n,)
        Scores of consecutive frames.
    sigma : float
        Standard deviation in frames; ``0`` returns a float copy.
    truncate : float, default=4.0
        The kernel reaches ``int(truncate * sigma + 0.5)`` frames each side.

    Returns
    -------
    ndarray of shape (n,), float64
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    if sigma == 0 or x.shape[0] == 0:
        return x.copy()
    radius = int(truncate * float(sigma) + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / float(sigma)) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, radius, mode="symmetric")
    return np.convolve(padded, kernel, mode="valid")
