"""The demo: DSNF against PyOD detectors on synthetic pose tracks, in a few minutes.

``pyod-dsnf demo`` calls :func:`run_demo`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pyod_dsnf.datasets import make_pose_tracks
from pyod_dsnf.evaluation.plot import anomalous_intervals
from pyod_dsnf.experiments.compare import evaluate_methods
from pyod_dsnf.pipeline import Windowing, cut

__all__ = ["DEMO_DSNF_PARAMS", "DEMO_METHODS", "DemoResult", "format_table", "run_demo"]

#: Methods of the demo, in table order.
DEMO_METHODS = ("dsnf", "iforest", "lof", "knn", "ecod", "random")

#: DSNF settings sized for a demo of under 3 minutes on 2 CPU cores (the library
#: defaults are sized for real datasets): a small flow, a larger learning rate for the
#: few hundred segments, and plain maximum likelihood (``awam_lambda=0``: no double
#: backward, about twice as fast to train). Chosen among three candidates on synthetic
#: data drawn with ``random_state=1`` (the demo uses ``random_state=0``); see docs/quickstart.md.
DEMO_DSNF_PARAMS: dict[str, Any] = {
    "n_flow_steps": 4,
    "hidden_channels": 8,
    "epochs": 20,
    "batch_size": 128,
    "lr": 5e-3,
    "awam_lambda": 0.0,
}


@dataclass
class DemoResult:
    """What :func:`run_demo` measured.

    Attributes
    ----------
    rows : list of dict
        Per method: ``method``, ``auc_roc``, ``auc_roc_person_frames``, ``auc_pr``,
        ``fit_seconds``, ``score_seconds``.
    n_train_segments, n_test_segments, n_test_frames, n_anomalous_frames : int
        Sizes of the synthetic data.
    plot_path : Path or None
        The PNG written, if any.
    frame_scores : dict
        Per method, per test clip, the per-frame scores.
    """

    rows: list[dict[str, Any]]
    n_train_segments: int
    n_test_segments: int
    n_test_frames: int
    n_anomalous_frames: int
    plot_path: Path | None
    frame_scores: dict[str, dict[str, np.ndarray]] = field(repr=False, default_factory=dict)


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of the demo rows (AUCs in percent)."""
    head = (
        "| method | AUC-ROC person mapping, all frames | AUC-ROC person mapping, person frames "
        "| AUC-PR person mapping, all frames | fit s |"
    )
    lines = [head, "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['method']} | {100 * r['auc_roc']:.2f} | {100 * r['auc_roc_person_frames']:.2f} "
            f"| {100 * r['auc_pr']:.2f} | {r['fit_seconds']:.1f} |"
        )
    return "\n".join(lines)


def _plot(
    frame_scores: Mapping[str, Mapping[str, np.ndarray]],
    masks: Mapping[str, np.ndarray],
    clips: Sequence[str],
    path: Path,
) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the demo's plot needs matplotlib: pip install 'pyod-dsnf[plot]' "
            "(or pass plot=False / --no-plot)"
        ) from err
    fig, axes = plt.subplots(len(clips), 1, figsize=(9, 2.2 * len(clips)), squeeze=False)
    for ax, cid in zip(axes[:, 0], clips, strict=True):
        for a, b in anomalous_intervals(masks[cid]):
            ax.axvspan(a, b, color="tab:red", alpha=0.15, lw=0)
        for method, per_clip in frame_scores.items():
            s = per_clip[cid]
            span = s.max() - s.min()
            ax.plot((s - s.min()) / span if span > 0 else s * 0, lw=1, label=method)
        ax.set_title(f"{cid} (shaded: ground-truth anomalous frames)", fontsize=9)
        ax.set_ylabel("score (min-max)")
        ax.set_xlim(0, len(masks[cid]))
    axes[-1, 0].set_xlabel("frame")
    axes[0, 0].legend(loc="upper right", fontsize=8, ncol=len(frame_scores))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_demo(
    *,
    n_train_clips: int = 16,
    n_test_clips: int = 10,
    seg_len: int = 12,
    train_stride: int = 3,
    methods: Sequence[str] = DEMO_METHODS,
    dsnf_params: Mapping[str, Any] | None = None,
    out_dir: str | Path = "demo_output",
    plot: bool = True,
    n_plot_clips: int = 3,
    random_state: int = 0,
    progress: bool = True,
) -> DemoResult:
    """Generate synthetic pose tracks, fit every method, evaluate frame-level scores.

    Parameters
    ----------
    n_train_clips, n_test_clips : int
        Sizes of the synthetic dataset (:func:`pyod_dsnf.datasets.make_pose_tracks`).
    seg_len : int, default=12
        Segment length T.
    train_stride : int, default=3
        Stride of the training windows (test windows use stride 1).
    methods : sequence of str
        Method names (:func:`pyod_dsnf.experiments.compare.all_methods`).
    dsnf_params : mapping, optional
        :class:`~pyod_dsnf.DSNFDetector` parameters; default :data:`DEMO_DSNF_PARAMS`.
    out_dir : str or Path, default="demo_output"
        Where the PNG goes.
    plot : bool, default=True
        Write ``frame_scores.png`` (needs matplotlib).
    n_plot_clips : int, default=3
        Test clips with an abnormal event to plot.
    random_state : int, default=0
        Seed of the data and of every method.
    progress : bool, default=True
        Show a tqdm progress bar over the methods.

    Returns
    -------
    DemoResult

    Notes
    -----
    Gaps of up to 2 frames are filled, short test tracks padded, and segment
    scores mapped to frames by the "person" protocol (docs/evaluation.md).
    """
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one method, got an empty list")
    ds = make_pose_tracks(n_train_clips, n_test_clips, random_state=random_state)
    tr = cut(ds.train, Windowing.train(seg_len, train_stride))
    te = cut(ds.test, Windowing.test("person", seg_len))
    params = dict(DEMO_DSNF_PARAMS if dsnf_params is None else dsnf_params)
    bar = tqdm(total=len(methods), desc="demo", unit="method", disable=not progress)
    results = evaluate_methods(
        methods, tr.segments.X, [te], ds.masks, random_state=random_state, dsnf_params=params,
        bar=bar,
    )  # fmt: skip
    bar.close()
    rows, per_frame = [], {}
    for res in results:
        m, run = res.metrics[0], res.run
        per_frame[run.method] = res.frames[0].scores
        rows.append(
            {
                "method": run.method,
                "auc_roc": m.auc_roc,
                "auc_roc_person_frames": m.auc_roc_person_frames,
                "auc_pr": m.auc_pr,
                "fit_seconds": run.fit_seconds,
                "score_seconds": run.score_seconds,
            }
        )
    plot_path = None
    if plot:
        abnormal = [c for c, m in ds.masks.items() if np.any(m)][:n_plot_clips]
        shown = {m: per_frame[m] for m in methods if m != "random"} or per_frame
        plot_path = _plot(shown, ds.masks, abnormal, Path(out_dir) / "frame_scores.png")
    return DemoResult(
        rows=rows,
        n_train_segments=len(tr),
        n_test_segments=len(te),
        n_test_frames=ds.n_test_frames,
        n_anomalous_frames=ds.n_anomalous_frames,
        plot_path=plot_path,
        frame_scores=per_frame,
    )
