"""Per-frame score curve with the ground-truth anomalous intervals shaded (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["anomalous_intervals", "plot_frame_scores"]


def anomalous_intervals(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(first, last_plus_one), ...]`` of the runs of 1 in a 0/1 frame mask."""
    m = np.asarray(mask).astype(bool).astype(np.int8)
    edges = np.diff(np.concatenate([[0], m, [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def plot_frame_scores(
    scores: np.ndarray,
    mask: np.ndarray | None = None,
    path: str | Path | None = None,
    *,
    title: str | None = None,
    dpi: int = 100,
):
    """Plot one clip's per-frame anomaly scores; shade the anomalous frames.

    Parameters
    ----------
    scores : ndarray of shape (n_frames,)
        Per-frame scores of one clip (e.g. ``frame_scores(...)[clip_id]``).
    mask : ndarray of shape (n_frames,), optional
        Ground truth (1 = anomalous); its runs are shaded.
    path : str or Path, optional
        Where to save the figure as PNG.
    title : str, optional
        Axes title.
    dpi : int, default=100
        Resolution of the saved PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install "pyod-dsnf[plot]"``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "plot_frame_scores needs matplotlib, which is an optional dependency; "
            "install it with: pip install 'pyod-dsnf[plot]'"
        ) from exc
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D (one clip), got shape {s.shape}")
    if mask is not None and np.asarray(mask).shape != s.shape:
        raise ValueError(f"mask has shape {np.asarray(mask).shape} but scores has shape {s.shape}")
    fig = Figure(figsize=(8, 2.5))
    ax = fig.add_subplot()
    if mask is not None:
        for i, (a, b) in enumerate(anomalous_intervals(mask)):
            ax.axvspan(
                a - 0.5,
                b - 0.5,
                color="tab:red",
                alpha=0.2,
                lw=0,
                label="anomalous (ground truth)" if i == 0 else None,
            )
    ax.plot(np.arange(s.shape[0]), s, color="tab:blue", lw=1.2, label="anomaly score")
    ax.set_xlabel("frame")
    ax.set_ylabel("score")
    ax.set_xlim(-0.5, max(s.shape[0] - 0.5, 0.5))
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), format="png", dpi=dpi)
    return fig
