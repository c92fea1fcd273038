"""The ``pyod-dsnf`` command line (also ``python -m pyod_dsnf``).

Argument parsing lives here only: each subcommand calls a library function with
plain keyword arguments. Errors in the input (a missing folder, a wrong layout, a
bad option value) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from pyod_dsnf.cli.render import add_render_parser, run_render
from pyod_dsnf.cli.stream import COMMANDS as STREAM_COMMANDS
from pyod_dsnf.cli.stream import add_format_option
from pyod_dsnf.cli.stream import add_parsers as add_stream_parsers

__all__ = ["build_parser", "main"]

# Estimator options of `fit`: flag -> (type, help). Unset flags keep the estimator's defaults.
_ESTIMATOR_OPTIONS: dict[str, tuple[Any, str]] = {
    "space": (str, "'dual', 'euclidean' or 'hyperbolic'"),
    "curvature": (float, "Poincare-ball curvature c > 0"),
    "n-flow-steps": (int, "flow steps K"),
    "hidden-channels": (int, "width of the coupling networks"),
    "temporal-kernel": (int, "odd temporal kernel size"),
    "awam-lambda": (float, "weight of the AWAM term (0 = plain likelihood)"),
    "noise-std": (float, "training noise in normalized units (0 = none)"),
    "anomaly-score": (str, "'joint' (most atypical joint) or 'nll' (segment NLL)"),
    "epochs": (int, "maximum number of epochs"),
    "batch-size": (int, "mini-batch size"),
    "lr": (float, "learning rate"),
    "random-state": (int, "seed"),
    "device": (str, "'auto', 'cpu', 'cuda', ..."),
}


def _add_threads(p: argparse.ArgumentParser, default: int | None) -> None:
    p.add_argument(
        "--threads",
        type=int,
        default=default,
        help="torch CPU threads (default: %(default)s; None: min(2, cores - 1), at least 1)",
    )


def _add_max_gap(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-gap",
        type=int,
        default=2,
        help="fill gaps of up to this many missing frames (default: %(default)s)",
    )


def _add_format(p: argparse.ArgumentParser) -> None:
    add_format_option(p, "POSE_DIR")


def _add_n_jobs(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help=f"{what}; -1: one per core (default: %(default)s)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the workers on the Dask cluster of this scheduler (tcp://host:8786); "
        "needs the dask extra",
    )


def _on_cluster(address: str | None) -> contextlib.AbstractContextManager:
    """joblib's Dask backend on the cluster at ``address``; nothing when None."""
    stack = contextlib.ExitStack()
    if address is None:
        return stack
    try:
        from distributed import Client
    except ImportError as err:
        raise ImportError(
            "--scheduler needs dask.distributed: pip install 'pyod-dsnf[dask]'"
        ) from err
    import joblib

    stack.enter_context(Client(address))
    stack.enter_context(joblib.parallel_config(backend="dask"))
    return stack


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pyod-dsnf``."""
    from pyod_dsnf import __version__

    parser = argparse.ArgumentParser(
        prog="pyod-dsnf",
        description="DSNF: skeleton-based video anomaly detection with a dual-space "
        "normalizing flow (a PyOD detector).",
    )
    parser.add_argument("--version", action="version", version=f"pyod-dsnf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="synthetic data: DSNF against PyOD detectors, table and plot")
    p.add_argument("--n-train-clips", type=int, default=16)
    p.add_argument("--n-test-clips", type=int, default=10)
    p.add_argument("--seg-len", type=int, default=12)
    p.add_argument("--epochs", type=int, default=None, help="DSNF epochs (demo: 20)")
    p.add_argument("--n-flow-steps", type=int, default=None, help="DSNF flow steps (demo: 4)")
    p.add_argument("--hidden-channels", type=int, default=None, help="DSNF width (demo: 8)")
    p.add_argument("--methods", nargs="+", default=None, help="methods to run")
    p.add_argument("-o", "--out-dir", default="demo_output", help="where the PNG goes")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    _add_threads(p, 1)

    p = sub.add_parser("fit", help="train DSNF on a folder of pose files")
    p.add_argument("pose_dir", metavar="POSE_DIR")
    p.add_argument("-o", "--output", required=True, help="model file to write (model.dsnf)")
    p.add_argument(
        "--seg-len", type=int, default=24, help="segment length T (default: %(default)s)"
    )
    p.add_argument(
        "--stride", type=int, default=6, help="training window stride (default: %(default)s)"
    )
    _add_max_gap(p)
    _add_format(p)
    p.add_argument(
        "--layout",
        default="coco17",
        choices=("coco17", "openpose18"),
        help="joint layout (default: %(default)s)",
    )
    for flag, (typ, text) in _ESTIMATOR_OPTIONS.items():
        p.add_argument(f"--{flag}", type=typ, default=None, help=f"{text} (default: estimator's)")
    p.add_argument("--verbose", action="store_true", help="progress bar over batches")
    _add_threads(p, None)

    p = sub.add_parser("score", help="per-frame anomaly scores of every clip of a folder")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("pose_dir", metavar="POSE_DIR")
    p.add_argument("-o", "--out-dir", required=True, help="folder for the CSV/NPZ files")
    p.add_argument(
        "--mode",
        default="person",
        choices=("person", "field"),
        help="frame mapping (default: %(default)s)",
    )
    _add_max_gap(p)
    _add_format(p)
    p.add_argument("--gt", default=None, metavar="GT_DIR", help="masks: clip lengths, plots")
    p.add_argument("--plot", action="store_true", help="one PNG per clip")
    p.add_argument(
        "--device",
        default="cpu",
        help="where the model scores: 'cpu', 'cuda', 'cuda:1', 'auto' (default: %(default)s)",
    )
    _add_n_jobs(p, "clips scored in parallel processes")
    _add_threads(p, None)

    p = sub.add_parser("evaluate", help="frame metrics of scores against frame masks")
    p.add_argument("scores", metavar="SCORES", help="output folder of 'pyod-dsnf score'")
    p.add_argument("gt_dir", metavar="GT_DIR", help="folder of <clip>.npy masks")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("benchmark", help="DSNF, ablations, PyOD detectors over seeds")
    p.add_argument("data_dir", metavar="DATA_DIR", help="root with pose/train, pose/test, gt/")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", default=None, help="methods (default: all)")
    p.add_argument("--seg-len", type=int, default=24)
    p.add_argument("--train-stride", type=int, default=6)
    p.add_argument("--epochs", type=int, default=None, help="DSNF epochs (default: estimator's)")
    p.add_argument("--max-train-segments", type=int, default=None)
    p.add_argument("-o", "--out-dir", default="benchmark_results")
    add_format_option(p, "DATA_DIR/pose/*")
    p.add_argument("--no-progress", action="store_true")
    _add_n_jobs(p, "seeds run in parallel processes")
    _add_threads(p, None)

    add_render_parser(sub)
    add_stream_parsers(sub)  # stream, replay: pyod_dsnf/cli/stream.py
    _show_defaults(sub)
    return parser


def _show_defaults(sub: argparse._SubParsersAction) -> None:
    """Every option's help ends with its default (unless it already names one)."""
    for p in sub.choices.values():
        for action in p._actions:
            if action.option_strings and action.nargs != 0 and action.default is not None:
                text = action.help or ""
                value = action.default
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                quoted = f"({value})"
                if "default" not in text and quoted not in text:
                    action.help = f"{text} (default: %(default)s)".strip()


def _set_threads(n: int | None) -> None:
    from pyod_dsnf.detector._threads import set_requested_threads

    set_requested_threads(n if n is None or n >= 1 else None)
    if n is not None:
        if n < 1:
            raise ValueError(f"--threads must be >= 1, got {n}")
        import torch

        torch.set_num_threads(n)


def _demo(a: argparse.Namespace) -> None:
    from pyod_dsnf.experiments.demo import DEMO_DSNF_PARAMS, DEMO_METHODS, format_table, run_demo

    params = dict(DEMO_DSNF_PARAMS)
    for key in ("epochs", "n_flow_steps", "hidden_channels"):
        if getattr(a, key) is not None:
            params[key] = getattr(a, key)
    t0 = time.perf_counter()
    res = run_demo(
        n_train_clips=a.n_train_clips,
        n_test_clips=a.n_test_clips,
        seg_len=a.seg_len,
        methods=a.methods or DEMO_METHODS,
        dsnf_params=params,
        out_dir=a.out_dir,
        plot=not a.no_plot,
        random_state=a.seed,
        progress=not a.no_progress,
    )
    print(
        f"synthetic pose tracks: {res.n_train_segments} training segments, "
        f"{res.n_test_segments} test segments, {res.n_test_frames} test frames "
        f"({res.n_anomalous_frames} anomalous); frame mapping 'person' (docs/evaluation.md)"
    )
    print(f"DSNF settings: {params}")
    print(format_table(res.rows))
    if res.plot_path is not None:
        print(f"per-frame scores vs ground truth: {res.plot_path}")
    print(f"total {time.perf_counter() - t0:.1f} s")


def _fit(a: argparse.Namespace) -> None:
    from pyod_dsnf.pipeline.files import fit_pose_dir

    params = {
        flag.replace("-", "_"): getattr(a, flag.replace("-", "_"))
        for flag in _ESTIMATOR_OPTIONS
        if getattr(a, flag.replace("-", "_")) is not None
    }
    t0 = time.perf_counter()
    det = fit_pose_dir(
        a.pose_dir,
        a.output,
        seg_len=a.seg_len,
        stride=a.stride,
        max_gap=a.max_gap,
        layout=a.layout,
        fmt=a.fmt,
        verbose=int(a.verbose),
        **params,
    )
    print(
        f"trained on {len(det.decision_scores_)} segments of {det.input_shape_[0]} frames "
        f"in {time.perf_counter() - t0:.1f} s ({det.n_epochs_} epochs); saved {a.output}"
    )


def _score_dir(a: argparse.Namespace) -> Any:
    from pyod_dsnf.pipeline.files import score_pose_dir

    return score_pose_dir(
        a.model,
        a.pose_dir,
        a.out_dir,
        mode=a.mode,
        max_gap=a.max_gap,
        gt_dir=a.gt,
        plot=a.plot,
        fmt=a.fmt,
        device=a.device,
        n_jobs=a.n_jobs,
        threads=a.threads,
    )


def _score(a: argparse.Namespace) -> None:
    with _on_cluster(a.scheduler):
        res = _score_dir(a)
    scores = res.frames.scores
    n = sum(len(s) for s in scores.values())
    p = res.paths
    print(f"scored {len(scores)} clips ({n} frames), {a.mode} mapping:")
    print(f"  per clip: {p['csv'] / '<clip>.csv'}")
    print(f"  all clips: {p['scores']}, {p['tracked']}, {p['info']}")
    if "plots" in p:
        print(f"  plots: {p['plots'] / '<clip>.png'}")


def _evaluate(a: argparse.Namespace) -> None:
    from pyod_dsnf.pipeline import FrameMetrics
    from pyod_dsnf.pipeline.files import evaluate_scores

    res = evaluate_scores(a.scores, a.gt_dir)
    if a.json:
        print(json.dumps(res, indent=2))
        return
    print("\n".join(FrameMetrics(**res).lines()))


def _benchmark(a: argparse.Namespace) -> None:
    from pyod_dsnf.experiments.benchmark import run_benchmark

    kw: dict[str, Any] = {}
    if a.methods:
        kw["methods"] = a.methods
    kw.update(seg_len=a.seg_len, train_stride=a.train_stride, epochs=a.epochs)
    kw.update(max_train_segments=a.max_train_segments, out_dir=a.out_dir, fmt=a.fmt)
    with _on_cluster(a.scheduler):
        res = run_benchmark(
            a.data_dir, seeds=a.seeds, progress=not a.no_progress, n_jobs=a.n_jobs,
            threads=a.threads, **kw,
        )  # fmt: skip
    print(res.markdown)
    print(f"written: {res.paths['markdown']} and {res.paths['json']}")


_COMMANDS = {
    "demo": _demo,
    "fit": _fit,
    "score": _score,
    "evaluate": _evaluate,
    "benchmark": _benchmark,
    "render": run_render,
    **STREAM_COMMANDS,
}


def _flag_names(parser: argparse.ArgumentParser, command: str) -> dict[str, str]:
    """Parameter name -> how the command line spells it (``epochs`` -> ``--epochs``)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    names = {}
    for action in sub.choices[command]._actions:
        if action.option_strings:
            names[action.dest] = action.option_strings[-1]
        elif action.metavar:
            names[action.dest] = str(action.metavar)
    names.pop("help", None)
    return names


def _name_flags(message: str, names: dict[str, str]) -> str:
    """Write the library's parameter names in a message as the command line's flags."""
    for dest in sorted(names, key=len, reverse=True):
        flag = names[dest]
        message = message.replace(f"The '{dest}' parameter", f"{flag}")  # scikit-learn's words
        message = re.sub(rf"(?<![\w.-]){re.escape(dest)}(?=( must|=| =|: ))", flag, message)
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input).

    Warnings print as one line each (``pyod-dsnf COMMAND: warning: ...``), and
    errors in the input as one line naming the command-line flag.
    """
    parser = build_parser()
    a = parser.parse_args(argv)
    names = _flag_names(parser, a.command)

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = _name_flags(" ".join(str(message).split()), names)
        print(f"pyod-dsnf {a.command}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            _set_threads(getattr(a, "threads", None))
            _COMMANDS[a.command](a)
        except (ValueError, FileNotFoundError, NotADirectoryError, ImportError) as exc:
            msg = _name_flags(" ".join(str(exc).split()), names)
            print(f"pyod-dsnf {a.command}: error: {msg}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
