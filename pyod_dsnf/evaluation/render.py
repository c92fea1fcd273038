"""Seeing an alert: an animation of one person's skeleton, joints coloured by how abnormal.

:func:`alert_data` scores one person's track with a fitted
:class:`~pyod_dsnf.DSNFDetector` exactly as ``pyod-dsnf stream`` does: frame t
gets the score of the window that ends at t (the causal windows of
:func:`pyod_dsnf.stream.causal_segments`, warm-up windows included and, for a
calibrated model, matched to full windows by :class:`pyod_dsnf.stream.AgeMatch`),
and each joint's standardised NLL share ``z = (joint_nll - joint_nll_mean_) /
joint_nll_std_`` of that window. :func:`render_alert` draws it: the skeleton on
the left with each joint coloured by its ``z`` (and the three highest named),
the frame's anomaly score curve on the right with the stream's threshold and a
cursor at the current frame. MP4 where ffmpeg is
available (a system ffmpeg or the ``imageio-ffmpeg`` package of the
``[render]`` extra), GIF otherwise.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyod_dsnf._checks import check_int
from pyod_dsnf._infinite import rank_safe
from pyod_dsnf.detector.orientation import detector_rotation, rotate_points
from pyod_dsnf.detector.standardizer import JointStandardizer
from pyod_dsnf.pipeline.steps import Windowing, cut
from pyod_dsnf.poses import Clip, Track
from pyod_dsnf.poses.skeletons import SkeletonGraph, get_layout

__all__ = ["AlertData", "alert_data", "parse_frames", "read_video_frames", "render_alert"]

RENDER_EXTRA_HINT = "rendering needs matplotlib: pip install 'pyod-dsnf[render]'"


@dataclass
class AlertData:
    """What an alert animation shows (one person, consecutive frames).

    Attributes
    ----------
    person : int
    frames : ndarray of shape (n,), int64
        The rendered frames.
    keypoints : ndarray of shape (n, V, 3)
        ``(x, y, confidence)`` after gap filling; confidence 0 = undetected.
        Turned upright about their centre by the detector's canonical rotation
        (``DSNFDetector.up_direction_``), so a person filmed sideways stands.
    joint_z : ndarray of shape (n, V)
        Standardised per-joint NLL share, averaged over the windows covering
        each frame.
    track_frames, track_scores : ndarray of shape (m,)
        Every frame of the track piece holding the rendered frames and its
        causal anomaly score (the curve; NaN where the stream scores nothing:
        a window without a detected joint).
    threshold : float
        The alert threshold drawn (the stream's, or the detector's ``threshold_``).
    graph : SkeletonGraph
        Layout (bones and joint names).
    """

    person: int
    frames: np.ndarray
    keypoints: np.ndarray
    joint_z: np.ndarray
    track_frames: np.ndarray
    track_scores: np.ndarray
    threshold: float
    graph: SkeletonGraph

    @property
    def scores(self) -> np.ndarray:
        """Anomaly score of each rendered frame."""
        return self.track_scores[np.searchsorted(self.track_frames, self.frames)]

    @property
    def peak(self) -> int:
        """Index in ``frames`` of the highest score (the first one; 0 when none is scored)."""
        s = self.scores
        return int(np.nanargmax(s)) if np.isfinite(s).any() else 0


def parse_frames(text: str) -> tuple[int, int]:
    """``"A:B"`` -> ``(A, B)``: frames A to B-1 (a half-open range, as a Python slice).

    Raises
    ------
    ValueError
        When the text is not two non-negative integers ``A < B`` joined by ``:``.
    """
    parts = str(text).split(":")
    ok = len(parts) == 2 and all(p.strip().isdigit() for p in parts)
    if ok:
        a, b = (int(p) for p in parts)
        ok = a < b
    if not ok:
        raise ValueError(
            f"frames must be 'A:B' with integers 0 <= A < B (frames A to B-1), got {text!r}"
        )
    return a, b


def _ranges(frames: np.ndarray) -> str:
    cuts = np.flatnonzero(np.diff(frames) != 1) + 1
    runs = np.split(frames, cuts)
    return ", ".join(f"{int(r[0])}:{int(r[-1]) + 1}" for r in runs[:8]) + (
        ", ..." if len(runs) > 8 else ""
    )


def _graph_of(detector) -> SkeletonGraph:
    graph = getattr(detector, "graph_", None)
    return graph if isinstance(graph, SkeletonGraph) else get_layout(detector.layout)


def alert_data(
    detector,
    clip: Clip,
    person: int,
    frames: tuple[int, int] | None = None,
    *,
    max_gap: int = 2,
    threshold: float | None = None,
    age_match: object = "auto",
    upright: bool = True,
) -> AlertData:
    """Per-frame causal scores and joint z-scores of one person, ready to draw.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted.
    clip : Clip
        Poses in the detector's layout (:func:`pyod_dsnf.poses.formats.load_poses`).
    person : int
        Person id in the clip.
    frames : (A, B) or None
        Frames A to B-1; they must all lie in one piece of the person's track
        after gap filling. None: the ``2 * T`` frames around the person's
        highest frame score (clipped to the piece).
    max_gap : int, default=2
        Gap filling before windowing, as in ``stream``.
    threshold : float, optional
        The threshold to draw and to mark ALERT frames by (e.g. the one
        ``pyod-dsnf stream`` printed); default the detector's ``threshold_``.
    age_match : "auto", callable or None, default="auto"
        Matching of warm-up scores as ``StreamScorer(age_match=...)``; "auto":
        :func:`pyod_dsnf.stream.match_ages` of the detector (None when it has
        no calibration), what ``pyod-dsnf stream`` uses.
    upright : bool, default=True
        Keypoints turned upright as the detector turns them; False: as in the
        image (to draw them over the camera's frames).

    Returns
    -------
    AlertData

    Raises
    ------
    ValueError
        For an unknown person (the message lists the clip's ids) or frames
        outside the person's posed runs (the message lists them).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(detector, ["model_", "joint_nll_mean_"])
    graph = _graph_of(detector)
    seg_len, n_joints, _ = (int(v) for v in detector.input_shape_)
    check_int("person", person, expected="an integer id")
    ids = sorted({t.person for t in clip.tracks if len(t)})
    if person not in ids:
        shown = ", ".join(map(str, ids[:20])) + (", ..." if len(ids) > 20 else "")
        raise ValueError(
            f"person {person} is not in clip {clip.clip_id!r}; its person ids are: "
            f"{shown or 'none (no tracks)'}"
        )
    tracks = [t for t in clip.tracks if t.person == person and len(t)]
    if tracks[0].n_joints != n_joints:
        raise ValueError(
            f"the poses have {tracks[0].n_joints} joints but the detector was fitted on "
            f"{n_joints} ({graph.name}); load them with layout={graph.name!r}"
        )
    # the pipeline's "person" recipe: gaps filled, stride 1, short runs padded
    segset = cut(Clip(clip.clip_id, tracks, clip.path), Windowing.test("person", seg_len, max_gap))
    pieces = [t for t in segset.clips[0].tracks if len(t)]
    posed = np.concatenate([p.frames for p in pieces])
    piece: Track | None = None
    if frames is not None:
        a, b = frames
        if not (0 <= a < b):
            raise ValueError(f"frames must satisfy 0 <= A < B, got {a}:{b}")
        for p in pieces:
            if p.frames[0] <= a and b - 1 <= p.frames[-1]:
                piece = p
        if piece is None:
            raise ValueError(
                f"frames {a}:{b} are not all posed for person {person} in clip "
                f"{clip.clip_id!r}; after filling gaps of up to {max_gap} frames it is posed "
                f"in frames {_ranges(posed)} (A:B = frames A to B-1)"
            )
        pieces = [piece]
    if isinstance(age_match, str):
        from pyod_dsnf.stream.calibration import match_ages

        if age_match != "auto":
            raise ValueError(f"age_match must be 'auto', a callable or None, got {age_match!r}")
        age_match = match_ages(detector)
    causal = _causal_curve(detector, Clip(clip.clip_id, tracks, clip.path), max_gap, age_match)
    curves = [_piece_curve(causal, p, n_joints) for p in pieces]
    if frames is None:
        k = int(np.argmax([np.nanmax(c[1]) if np.isfinite(c[1]).any() else -np.inf
                           for c in curves]))  # fmt: skip
        piece, (fr, sc, z) = pieces[k], curves[k]
        peak = int(fr[np.nanargmax(sc)]) if np.isfinite(sc).any() else int(fr[0])
        a = max(int(fr[0]), peak - seg_len)
        b = min(int(fr[-1]) + 1, a + 2 * seg_len)
        a = max(int(fr[0]), b - 2 * seg_len)
    else:
        fr, sc, z = curves[0]
    assert piece is not None
    sel = slice(a - int(piece.frames[0]), b - int(piece.frames[0]))
    return AlertData(
        person=int(person),
        frames=piece.frames[sel].copy(),
        keypoints=(_upright(detector, piece.keypoints[sel].astype(np.float64)) if upright
                   else piece.keypoints[sel].astype(np.float64)),
        joint_z=z[sel],
        track_frames=fr,
        track_scores=sc,
        threshold=float(getattr(detector, "threshold_", np.nan)) if threshold is None
        else float(threshold),
        graph=graph,
    )


def _upright(detector, keypoints: np.ndarray) -> np.ndarray:
    """Keypoints ``(n, V, 3)`` turned as the detector turns segments, about their centre."""
    rotation = detector_rotation(detector)
    if np.array_equal(rotation, np.eye(2)):
        return keypoints
    seen = keypoints[..., 2] > 0
    points = keypoints[seen, :2] if seen.any() else keypoints[..., :2].reshape(-1, 2)
    centre = points.mean(axis=0)
    out = keypoints.copy()
    out[..., :2] = rotate_points(keypoints[..., :2], rotation, centre)
    return out


def _causal_curve(detector, clip: Clip, max_gap: int, age_match) -> dict[int, tuple]:
    """frame -> (score, joint z) of the window ending there, as the stream scores it."""
    t, _, c = (int(v) for v in detector.input_shape_)
    seg = cut(clip, Windowing.causal(t, max_gap=max_gap)).segments  # the stream's windows
    if not len(seg):
        return {}
    joint = detector.joint_nll(seg.X[..., :c])
    scores = detector.anomaly_scores_from_joint(joint)
    if age_match is not None:
        scores = age_match(scores, seg.length)
    z = JointStandardizer.of(detector).transform(joint)
    # drawn, so made finite: +inf above every finite value (the policy of _infinite)
    z = rank_safe(z, warn=False)
    scores = rank_safe(np.asarray(scores, np.float64), warn=False)
    ends = (seg.start + seg.length - 1).tolist()
    return {f: (scores[i], z[i]) for i, f in enumerate(ends)}


def _piece_curve(causal: dict[int, tuple], piece: Track, n_joints: int):
    """(frames, score, joint z) of one gap-free piece; NaN score / 0 z where nothing was scored."""
    frames = piece.frames.copy()
    scores = np.full(len(frames), np.nan)
    z = np.zeros((len(frames), n_joints))
    for i, f in enumerate(frames.tolist()):
        hit = causal.get(f)
        if hit is not None:
            scores[i], z[i] = hit
    return frames, scores, z


def read_video_frames(path: str | os.PathLike, frames: np.ndarray) -> list[np.ndarray]:
    """The given frames (0-based indices, increasing) of a video file, as RGB arrays.

    Read with ``imageio-ffmpeg`` (the ``[render]`` extra), decoding from the start.

    Raises
    ------
    ImportError
        Without imageio-ffmpeg.
    ValueError
        When the file is missing or ends before the last frame asked for.
    """
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise ImportError(f"--video needs imageio-ffmpeg: pip install 'pyod-dsnf[render]' "
                          f"({exc})") from None  # fmt: skip
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"video={str(path)!r} is not a file")
    want = [int(f) for f in frames]
    out: list[np.ndarray] = []
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
        w, h = meta["size"]
        for i, raw in enumerate(reader):
            if i == want[len(out)]:
                out.append(np.frombuffer(raw, np.uint8).reshape(h, w, 3))
                if len(out) == len(want):
                    break
    finally:
        reader.close()
    if len(out) < len(want):
        raise ValueError(
            f"video={str(path)!r} ends before frame {want[len(out)]} (frames are counted from 0, "
            "as in the pose files)"
        )
    return out


def _ffmpeg_path() -> str | None:
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


def render_alert(
    detector,
    clip: Clip,
    person: int,
    frames: tuple[int, int] | str | None,
    output: str | os.PathLike,
    *,
    fps: float = 10.0,
    max_gap: int = 2,
    still: str | os.PathLike | None = None,
    dpi: int = 80,
    threshold: float | None = None,
    age_match: object = "auto",
    video: str | os.PathLike | None = None,
) -> Path:
    """Write the alert animation of one person (GIF or MP4) and optionally a still PNG.

    Parameters
    ----------
    detector : DSNFDetector
        Fitted.
    clip : Clip
        Poses in the detector's layout.
    person : int
        Person id.
    frames : (A, B), "A:B" or None
        Frames A to B-1 (see :func:`alert_data`); one animation frame each.
    output : str or path-like
        ``*.gif`` or ``*.mp4``. An MP4 needs ffmpeg (on the PATH or from
        ``imageio-ffmpeg``); without it a GIF is written next to it (same name,
        ``.gif``) with a warning.
    fps : float, default=10
        Animation frames per second.
    max_gap : int, default=2
        Gap filling before windowing.
    still : str or path-like, optional
        Also save the rendered frame with the highest score (the alert's peak) as a PNG.
    dpi : int, default=80
        Resolution (the figure is 10 x 4.2 inches).
    threshold, age_match
        As :func:`alert_data`.
    video : str or path-like, optional
        The camera's video: the skeleton is drawn over its frames (same frame
        numbers as the poses, pixel coordinates, not turned upright), read with
        ``imageio-ffmpeg``.

    Returns
    -------
    Path
        The file written (the GIF when an MP4 fell back).

    Raises
    ------
    ValueError
        For a bad output suffix, frames or person (see :func:`alert_data`).
    ImportError
        When matplotlib is not installed.
    """
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"output must end in .gif or .mp4, got {str(output)!r}")
    if isinstance(frames, str):
        frames = parse_frames(frames)
    if not (isinstance(fps, (int, float)) and not isinstance(fps, bool) and 0 < fps <= 120):
        raise ValueError(f"fps must be a number in (0, 120], got {fps!r}")
    try:
        import matplotlib
        from matplotlib import animation
    except ImportError as exc:
        raise ImportError(f"{RENDER_EXTRA_HINT} ({exc})") from None
    data = alert_data(detector, clip, person, frames, max_gap=max_gap, threshold=threshold,
                      age_match=age_match, upright=video is None)  # fmt: skip
    ffmpeg = _ffmpeg_path() if suffix == ".mp4" else None
    if suffix == ".mp4" and ffmpeg is None:
        warnings.warn(
            f"no ffmpeg found for {output.name} (pip install imageio-ffmpeg, or install "
            f"ffmpeg); writing {output.with_suffix('.gif').name} instead",
            UserWarning,
            stacklevel=2,
        )
        output, suffix = output.with_suffix(".gif"), ".gif"
    images = read_video_frames(video, data.frames) if video is not None else None
    output.parent.mkdir(parents=True, exist_ok=True)
    fig, update = _figure(data, dpi, images)
    if still is not None:
        update(data.peak)
        fig.savefig(still, dpi=dpi)
    # no pyplot: the figure is not registered anywhere and needs no closing
    anim = animation.FuncAnimation(fig, update, frames=len(data.frames), blit=False)
    if suffix == ".gif":
        anim.save(output, writer=animation.PillowWriter(fps=fps), dpi=dpi)
    else:
        with matplotlib.rc_context({"animation.ffmpeg_path": ffmpeg}):
            writer = animation.FFMpegWriter(fps=fps, codec="libx264",
                                            extra_args=["-pix_fmt", "yuv420p"])  # fmt: skip
            anim.save(output, writer=writer, dpi=dpi)
    return output


def _figure(data: AlertData, dpi: int, images: list[np.ndarray] | None = None):
    """The figure and its per-frame update function (over the video frames, if given)."""
    import matplotlib
    from matplotlib import colors
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    graph = data.graph
    names = graph.joint_names or tuple(f"joint {v}" for v in range(graph.n_joints))
    kp = data.keypoints
    vmax = float(max(3.0, np.percentile(data.joint_z, 99)))
    norm = colors.Normalize(vmin=0.0, vmax=vmax)
    cmap = matplotlib.colormaps["YlOrRd"]

    fig = Figure(figsize=(10, 4.2), dpi=dpi)
    FigureCanvasAgg(fig)
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.5]})
    # the view follows the person: a fixed-size box centred on each frame's pose
    seen = kp[:, :, 2] > 0
    centre = np.array([kp[i, seen[i], :2].mean(axis=0) if seen[i].any()
                       else kp[i, :, :2].mean(axis=0) for i in range(len(kp))])  # fmt: skip
    extent = np.abs(kp[:, :, :2] - centre[:, None, :])[seen] if seen.any() else np.ones((1, 2))
    half = 1.15 * float(extent.max()) + 1.0
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    backdrop = ax.imshow(images[0], zorder=-1) if images else None
    ghosts = [ax.plot([], [], color="0.85", lw=1.5, zorder=0)[0] for _ in graph.edges]
    bones = [ax.plot([], [], color="0.55", lw=2, zorder=1)[0] for _ in graph.edges]
    dots = ax.scatter(kp[0, :, 0], kp[0, :, 1], s=60, c=np.zeros(graph.n_joints), cmap=cmap,
                      norm=norm, edgecolors="k", linewidths=0.6, zorder=3)  # fmt: skip
    ranking = ax.text(0.02, 0.98, "", transform=ax.transAxes, va="top", ha="left", fontsize=8,
                      family="monospace", zorder=5,
                      bbox={"boxstyle": "round,pad=0.3", "fc": "white", "alpha": 0.85, "lw": 0})
    rings = ax.scatter([], [], s=260, facecolors="none", edgecolors="k", linewidths=1.2,
                       zorder=4)  # fmt: skip
    cbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046,
                        pad=0.02)  # fmt: skip
    cbar.set_label("joint z (standardised NLL share)")
    title = ax.set_title("", fontsize=10)

    bx.plot(data.track_frames, data.track_scores, color="C0", lw=1.5, label="frame score")
    if np.isfinite(data.threshold):
        bx.axhline(data.threshold, color="C3", ls="--", lw=1, label="threshold")
    bx.axvspan(data.frames[0], data.frames[-1], color="0.9", zorder=0, label="rendered")
    cursor = bx.axvline(data.frames[0], color="k", lw=1)
    marker = bx.plot([], [], "o", color="C3", ms=6)[0]
    bx.set_xlabel("frame")
    bx.set_ylabel("anomaly score")
    bx.set_title(f"person {data.person}", fontsize=10)
    bx.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    scores = data.scores

    def update(i: int):
        if backdrop is not None:
            backdrop.set_data(images[i])
        pose = kp[i]
        z = data.joint_z[i]
        cx, cy = centre[i]
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy + half, cy - half)  # image coordinates: y down
        before = kp[max(i - 3, 0)]  # a faint pose from 3 frames earlier shows the motion
        for line, ghost, (p, q) in zip(bones, ghosts, graph.edges, strict=True):
            line.set_data([pose[p, 0], pose[q, 0]], [pose[p, 1], pose[q, 1]])
            ghost.set_data([before[p, 0], before[q, 0]], [before[p, 1], before[q, 1]])
        dots.set_offsets(pose[:, :2])
        dots.set_array(np.clip(z, 0, None))
        dots.set_sizes(40 + 80 * np.clip(z / vmax, 0, 1))
        # undetected joints (confidence 0) have a dashed grey edge
        dots.set_edgecolors(["0.6" if c <= 0 else "k" for c in pose[:, 2]])
        top = np.argsort(-z)[:3]  # the three most atypical joints: ringed and listed
        rings.set_offsets(pose[top, :2])
        width = max(len(names[v]) for v in top)
        ranking.set_text("\n".join(f"{names[v]:<{width}} z {z[v]:5.1f}" for v in top))
        above = bool(np.isfinite(data.threshold) and scores[i] > data.threshold)
        title.set_text(f"frame {int(data.frames[i])}   score {scores[i]:.2f}"
                       + ("   ALERT" if above else ""))  # fmt: skip
        title.set_color("C3" if above else "k")
        cursor.set_xdata([data.frames[i], data.frames[i]])
        marker.set_data([data.frames[i]], [scores[i]])
        return [*ghosts, *bones, dots, rings, ranking, title, cursor, marker]

    update(0)
    return fig, update
