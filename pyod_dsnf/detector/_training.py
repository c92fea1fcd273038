"""The training loop of :class:`DSNFDetector`: mini-batch AWAM training with early stopping.

Kept apart from the estimator so the estimator only validates, prepares and
stores. Everything random here draws from the ``rng`` handed in; torch's own
initialisers are run by the caller under ``torch.random.fork_rng``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from geoopt.optim import RiemannianAdam
from torch import nn
from tqdm.auto import tqdm

from pyod_dsnf.detector._batching import batch_size as forward_batch
from pyod_dsnf.detector._batching import training_batch
from pyod_dsnf.detector._device import local_torch_rng
from pyod_dsnf.detector._step_guard import StepGuard, check_every
from pyod_dsnf.detector.losses import awam_loss
from pyod_dsnf.flow.model import DSNFlow, nll_bits_per_dim
from pyod_dsnf.poses.skeletons import SkeletonGraph

__all__ = [
    "TrainingConfig",
    "TrainingStep",
    "build_flow",
    "held_out_nll_bpd",
    "joint_nll_bits_per_dim",
    "on_epoch",
    "train_flow",
]


@dataclass(frozen=True)
class TrainingConfig:
    """What :func:`train_flow` needs besides the model, the data, the RNG and the device.

    Built from the estimator's parameters by :meth:`from_params`; ``settings`` names
    the ones an error message suggests changing.
    """

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    max_grad_norm: float | None = None
    awam_lambda: float = 0.0
    awam_tau: float = 1.0
    awam_prob: float = 1.0
    noise_std: float = 0.0
    n_iter_no_change: int | None = None
    tol: float = 0.0
    max_steps: int | None = None
    verbose: int = 0
    settings: str = ""

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], device: torch.device | str = "cpu"
    ) -> TrainingConfig:
        """The training settings of ``DSNFDetector.get_params()``, as plain Python numbers.

        ``batch_size="auto"`` and its learning rate follow ``device``
        (:func:`~pyod_dsnf.detector._batching.training_batch`).
        """
        p = params
        max_norm = p["max_grad_norm"]
        batch, lr = training_batch(p["batch_size"], float(p["lr"]), torch.device(device))
        return cls(
            epochs=int(p["epochs"]),
            batch_size=batch,
            lr=lr,
            weight_decay=float(p["weight_decay"]),
            max_grad_norm=None if max_norm is None else float(max_norm),
            awam_lambda=float(p["awam_lambda"]),
            awam_tau=float(p["awam_tau"]),
            awam_prob=float(p["awam_prob"]),
            noise_std=float(p["noise_std"]),
            n_iter_no_change=p["n_iter_no_change"],
            tol=float(p["tol"]),
            max_steps=None if p.get("max_steps") is None else int(p["max_steps"]),
            verbose=int(p["verbose"]),
            settings=(
                f"lr={p['lr']}, space={p['space']!r}, curvature={p['curvature']}, "
                f"awam_lambda={p['awam_lambda']}, awam_prob={p['awam_prob']}, "
                f"max_grad_norm={max_norm}"
            ),
        )


@dataclass(frozen=True)
class TrainingStep:
    """One optimiser step of :func:`train_flow`, as its ``on_step`` callback sees it.

    ``loss`` is the detached scalar loss on the training device (reading it from a GPU
    makes the host wait); ``awam_lambda`` is the weight the AWAM term had in it (0 on
    the steps whose coin left the term out, ``awam_lambda / awam_prob`` on the others).
    """

    epoch: int  # 1-based
    batch: int  # 1-based, within the epoch
    step: int  # 1-based, over the whole fit
    awam_lambda: float
    loss: torch.Tensor


def build_flow(
    params: Mapping[str, Any], graph: SkeletonGraph, n_frames: int, seed: int
) -> DSNFlow:
    """A freshly initialised flow of the estimator's ``params``, on the CPU, from ``seed``.

    Torch's global RNG is left as it was. ``DSNFlow`` checks the parameters it owns.
    """
    curvature = params["curvature"]
    with local_torch_rng(seed):
        return DSNFlow(
            in_channels=2,
            n_frames=n_frames,
            graph=graph,
            n_flow_steps=params["n_flow_steps"],
            hidden_channels=params["hidden_channels"],
            space=params["space"],
            # numpy scalars as Python numbers (DSNFlow checks plain int / float)
            curvature=getattr(curvature, "item", lambda: curvature)(),
            learn_curvature=bool(params["learn_curvature"]),
            permutation=params["permutation"],
            temporal_kernel=params["temporal_kernel"],
        )


_ON_EPOCH: ContextVar[Callable[[int, nn.Module], None] | None] = ContextVar(
    "pyod_dsnf_on_epoch", default=None
)


@contextmanager
def on_epoch(callback: Callable[[int, nn.Module], None]) -> Iterator[None]:
    """Call ``callback(epoch, model)`` after every epoch of the fits run inside the block.

    A seam for research code (checkpoints of ``DSNFDetector.fit`` after chosen epochs,
    ``benchmarks/select_defaults.py``) that needs no change to the estimator: the
    callback gets the 1-based epoch and the model in training mode and must not change
    it. Context-local (a ``contextvars.ContextVar``): other threads' fits are unaffected.
    """
    token = _ON_EPOCH.set(callback)
    try:
        yield
    finally:
        _ON_EPOCH.reset(token)


_REMEDY = (
    "lower lr, set max_grad_norm (e.g. 1.0), use a smaller curvature (or space='euclidean'), "
    "lower awam_lambda, or keep normalize=True"
)


@torch.no_grad()
def _evaluate(
    model: nn.Module,
    data: torch.Tensor,
    batch_size: int,
    device: torch.device,
    fn: Callable[[torch.Tensor], torch.Tensor],
    empty_shape: tuple[int, ...],
) -> np.ndarray:
    """``fn(batch)`` over ``data`` in eval mode, batched, without an autograd graph.

    Concatenated as float64 numpy; the model's train/eval mode is restored.
    """
    was_training = model.training
    model.eval()
    try:
        out = [
            fn(data[i : i + batch_size].to(device)).double()
            for i in range(0, data.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)
    # one copy to the host at the end: on a GPU the batches queue without waiting
    return torch.cat(out).cpu().numpy() if out else np.zeros(empty_shape)


def held_out_nll_bpd(
    model: nn.Module, data: torch.Tensor, batch_size: int, device: torch.device
) -> np.ndarray:
    """Per-segment NLL in bits/dim, batched, without an autograd graph; float64 numpy."""
    return _evaluate(model, data, batch_size, device, model.nll_bpd, (0,))


def joint_nll_bits_per_dim(
    model: nn.Module,
    data: torch.Tensor,
    batch_size: int,
    device: torch.device,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Per-segment, per-joint shares of the NLL, ``(n, V)`` float64 numpy.

    In bits per dimension of the whole segment, so each row sums to the
    segment's :func:`held_out_nll_bpd` (see ``DSNFlow.joint_log_prob``).
    ``forward`` stands in for ``model.joint_log_prob`` (a compiled one).
    """
    n_dims = math.prod(data.shape[1:])
    fn = model.joint_log_prob if forward is None else forward
    return _evaluate(
        model,
        data,
        batch_size,
        device,
        lambda x: nll_bits_per_dim(fn(x), n_dims),
        (0, data.shape[-1]),
    )


def train_flow(
    model: nn.Module,
    train: torch.Tensor | np.ndarray,
    validation: torch.Tensor | np.ndarray | None,
    config: TrainingConfig,
    *,
    rng: np.random.Generator,
    device: torch.device,
    callback: Callable[[int, nn.Module], None] | None = None,
    on_step: Callable[[TrainingStep], None] | None = None,
) -> tuple[dict[str, list[float]], int]:
    """Train ``model`` in place with the settings of ``config``; return (history, epochs run).

    Training stops after ``epochs`` epochs or ``max_steps`` optimiser steps
    (None: no step limit), whichever comes first; an epoch cut short by the
    step limit still ends with its validation NLL and counts as an epoch run.

    With a validation set and ``n_iter_no_change`` the loop stops once the
    validation NLL has not improved by more than ``tol`` for that many epochs
    and the weights of the best epoch are restored. With ``noise_std > 0`` every
    batch is perturbed by fresh Gaussian noise of that standard deviation (drawn
    from a generator seeded by ``rng``), so the flow fits the density of the
    segments smoothed at that scale.

    Each step includes the term with probability ``awam_prob`` and then weights it by
    ``1 / awam_prob`` (also unbiased; the coin is drawn from a generator
    seeded by ``rng``), so the double backward runs on that share of the
    steps only; 1 includes it in every step.

    With ``verbose >= 1`` a progress bar advances per batch (the epoch in its
    description, the running mean loss beside it). ``callback(epoch, model)``,
    if given (or set by :func:`on_epoch`), runs after every epoch (1-based) with the
    model in training mode; it must not change the model. ``on_step``, if given,
    is called with a :class:`TrainingStep` after every optimiser step.
    """
    callback = callback if callback is not None else _ON_EPOCH.get()
    epochs, batch_size, lr, tol = config.epochs, config.batch_size, config.lr, config.tol
    max_grad_norm, n_iter_no_change = config.max_grad_norm, config.n_iter_no_change
    awam_lambda, awam_tau, awam_prob = config.awam_lambda, config.awam_tau, config.awam_prob
    noise_std, verbose, settings = config.noise_std, config.verbose, config.settings
    max_steps, steps = config.max_steps, 0
    optimizer = RiemannianAdam(model.parameters(), lr=lr, weight_decay=config.weight_decay)
    history: dict[str, list[float]] = {"train_loss": [], "train_nll": [], "validation_nll": []}
    train = torch.as_tensor(train).to(device)
    validation = None if validation is None else torch.as_tensor(validation)
    n = train.shape[0]
    best, best_state, wait = math.inf, None, 0
    early = validation is not None and n_iter_no_change is not None
    n_batches = math.ceil(n / batch_size)
    # the held-out NLL is scored on cache-sized forward batches, not training-sized ones
    val_batch = 1 if validation is None else forward_batch(
        device, getattr(model, "hidden_channels", 16), validation.shape[2], validation.shape[3])
    bar = tqdm(total=n_batches, unit="batch", disable=verbose < 1, leave=False)
    epoch = -1
    noise = None
    if noise_std > 0:
        noise = torch.Generator(device=device)
        noise.manual_seed(int(rng.integers(2**63 - 1)))
    if not 0 < awam_prob <= 1:
        raise ValueError(f"awam_prob must be in (0, 1], got {awam_prob!r}")
    coin = None
    if awam_lambda > 0 and awam_prob < 1:
        coin = np.random.default_rng(int(rng.integers(2**63 - 1)))
    guard = StepGuard(check_every(device))  # on a GPU: one host read per many steps
    safe = settings.replace("{", "{{").replace("}", "}}")
    model.train()
    for epoch in range(epochs):
        bar.reset(total=n_batches)
        bar.set_description(f"DSNF fit epoch {epoch + 1}/{epochs}")
        order = torch.from_numpy(rng.permutation(n)).to(device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        nll_sum = torch.zeros((), dtype=torch.float64, device=device)
        seen = 0
        last = history["validation_nll"][-1:]
        shown = {"val_nll": f"{last[0]:.4f}"} if last else {}
        for start in range(0, n, batch_size):
            if max_steps is not None and steps >= max_steps:
                break
            x = train[order[start : start + batch_size]]
            if noise is not None:
                x = x + noise_std * torch.randn(
                    x.shape, generator=noise, device=device, dtype=x.dtype
                )
            lam = awam_lambda
            if coin is not None:
                lam = awam_lambda / awam_prob if coin.random() < awam_prob else 0.0
            loss, info = awam_loss(model, x, lam=lam, tau=awam_tau)
            where = f"at epoch {epoch + 1}, batch {start // batch_size + 1} ({safe}); {_REMEDY}"
            guard.watch(loss, "the training loss became {value} " + where)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm is not None:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                guard.watch(norm, "the gradient norm became {value} " + where)
            optimizer.step()
            steps += 1
            if on_step is not None:
                on_step(TrainingStep(epoch + 1, start // batch_size + 1, steps, lam,
                                     loss.detach()))  # fmt: skip
            # float64 sums on the device, in the order Python floats would add them
            loss_sum += loss.detach().double() * x.shape[0]
            nll_sum += info["nll"].sum().double()
            seen += x.shape[0]
            if not bar.disable:  # reads the GPU: only with a progress bar
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.4f}", **shown, refresh=False)
            bar.update()
        guard.check()
        history["train_loss"].append(float(loss_sum) / seen)
        history["train_nll"].append(float(nll_sum) / seen)
        postfix = {"loss": f"{float(loss_sum) / seen:.4f}"}
        if validation is not None:
            val = float(held_out_nll_bpd(model, validation, val_batch, device).mean())
            if not math.isfinite(val):
                raise FloatingPointError(
                    f"the validation NLL became {val} after epoch {epoch + 1} ({settings}); "
                    f"{_REMEDY}"
                )
            history["validation_nll"].append(val)
            postfix["val_nll"] = f"{val:.4f}"
            if early:
                if val < best - tol:
                    best, wait = val, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    wait += 1
        bar.set_postfix(postfix)
        if callback is not None:
            callback(epoch + 1, model)
        if early and wait >= n_iter_no_change:
            break
        if max_steps is not None and steps >= max_steps:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history, (epoch + 1 if epochs > 0 else 0)
