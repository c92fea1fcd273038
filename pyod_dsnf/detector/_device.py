"""Where and how reproducibly torch runs: device, seeds, a local RNG, CPU threads.

* :func:`resolve_device` turns the ``device`` parameter into a
  :class:`torch.device` (:class:`DeviceUnavailableError` when CUDA is asked for
  and absent); :func:`load_device` falls back to the CPU with a warning instead.
* :func:`seeds_from` derives the torch seed and the numpy generator of a fit
  from ``random_state`` without touching numpy's global RNG.
* :func:`local_torch_rng` seeds torch's CPU generator (and the one of the CUDA
  device in use) for a block and restores, on exit, the CPU state and the
  state of every initialised CUDA device. It never calls ``torch.manual_seed``,
  which would also seed every CUDA device, lazily, at their first use.
* :func:`exact_float32` turns TF32 off for a block on a CUDA device, so that
  scores computed there match the CPU's to float32 round-off.
* :func:`torch_threads` sets torch's intra-op threads for a block.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from pyod_dsnf.detector._threads import default_threads

__all__ = [
    "DeviceUnavailableError",
    "exact_float32",
    "load_device",
    "local_torch_rng",
    "resolve_device",
    "seeds_from",
    "torch_threads",
]


class DeviceUnavailableError(ValueError):
    """A valid device that this machine does not have (CUDA absent, index too high)."""


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; any other device must exist here.

    Raises
    ------
    ValueError
        ``device`` is not a device string.
    DeviceUnavailableError
        A CUDA device that this machine lacks.
    """
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
        raise DeviceUnavailableError(
            f"device={device!r} was requested but CUDA is not available here"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
            f"device(s) exist"
        )
    return dev


def load_device(device: str | torch.device, *, stacklevel: int = 2) -> torch.device:
    """:func:`resolve_device`, but a device missing here falls back to the CPU with a warning.

    For models written elsewhere: a model trained on a GPU always loads.
    """
    try:
        return resolve_device(device)
    except DeviceUnavailableError as exc:
        warnings.warn(
            f"load(device={device!r}): {exc}; loading onto the CPU instead",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return torch.device("cpu")


def seed_from(random_state: Any) -> int:
    """A 63-bit seed from ``random_state`` without touching numpy's global RNG."""
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


def seeds_from(random_state: Any) -> tuple[int, np.random.Generator]:
    """The torch seed and the numpy generator of one fit, both from ``random_state``."""
    seq = np.random.SeedSequence(seed_from(random_state))
    torch_seed = int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    return torch_seed, np.random.default_rng(seq.spawn(1)[0])


# The CUDA generators, behind two functions so that tests can stand in for a GPU.
def _cuda_rng_states() -> list[torch.Tensor] | None:
    """States of every CUDA device's generator, or None while CUDA is not initialised."""
    if not torch.cuda.is_initialized():
        return None
    return torch.cuda.get_rng_state_all()


def _set_cuda_rng_states(states: list[torch.Tensor]) -> None:
    torch.cuda.set_rng_state_all(states)


def _seed_cuda(index: int, seed: int) -> None:
    with torch.cuda.device(index):
        torch.cuda.manual_seed(seed)  # this device only, now: CUDA is initialised here


@contextmanager
def local_torch_rng(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run a block with torch's generators seeded by ``seed``; restore the caller's states.

    The CPU generator is seeded and, when ``device`` is a CUDA device, that device's
    generator (CUDA is then initialised first, so its state can be saved). On exit
    the CPU state and the state of every CUDA device that was initialised on entry
    (or by the seeding) are restored, whatever the block did. Without CUDA, or on the
    CPU with CUDA never initialised, no CUDA state is read, seeded or queued.
    """
    device = torch.device(device)
    cuda_index = None
    if device.type == "cuda":
        torch.cuda.init()
        cuda_index = device.index if device.index is not None else torch.cuda.current_device()
    cpu_state = torch.random.get_rng_state()
    cuda_states = _cuda_rng_states()
    try:
        torch.random.default_generator.manual_seed(seed)
        if cuda_index is not None:
            _seed_cuda(cuda_index, seed)
        yield
    finally:
        torch.random.set_rng_state(cpu_state)
        if cuda_states is not None:
            _set_cuda_rng_states(cuda_states)


@contextmanager
def exact_float32(device: torch.device) -> Iterator[None]:
    """On a CUDA device, run a block without TF32 (matmul and cuDNN); restore the flags.

    TF32 (on by default for cuDNN convolutions on Ampere and newer GPUs) rounds
    products to 10 mantissa bits, so scores would differ from the CPU's by about
    1e-3. On the CPU this does nothing.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run with ``n_threads`` torch intra-op threads; restore afterwards.

    None: :func:`pyod_dsnf.detector._threads.default_threads` (never more than torch's current
    setting, so inside joblib workers it keeps what joblib chose).
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
