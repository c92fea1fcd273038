"""Where and how reproducibly torch runs: device, seeds, a local RNG, CPU threads.

* :func:`resolve_device` turns the ``device`` parameter into a
  :class:`torch.device` (:class:`DeviceUnavailableError` when CUDA, or the CUDA
  device of that index, is asked for and absent, or when this process was forked
  from one that had initialised CUDA); :func:`load_device` falls back to the CPU
  with a warning instead. Both read the machine through :class:`CudaState`, which
  a caller (a test) can hand in to stand for another machine.
* :func:`seeds_from` derives the torch seed and the numpy generator of a fit
  from ``random_state`` without touching numpy's global RNG.
* :func:`local_torch_rng` seeds torch's CPU generator (and the one of the CUDA
  device in use) for a block and restores, on exit, the CPU state and the
  state of every initialised CUDA device. It never calls ``torch.manual_seed``,
  which would also seed every CUDA device, lazily, at their first use.
* :func:`exact_float32` turns TF32 off for a block on a CUDA device, so that
  scores computed there match the CPU's to float32 round-off; :func:`tf32_off`
  is its switch, through whichever TF32 API the installed torch has, restoring
  the caller's settings exactly.
* :func:`torch_threads` sets torch's intra-op threads for a block.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pyod_dsnf._checks import check_int, is_int
from pyod_dsnf.detector._threads import default_threads

__all__ = [
    "CudaState",
    "DeviceUnavailableError",
    "cuda_state",
    "exact_float32",
    "load_device",
    "local_torch_rng",
    "resolve_device",
    "seeds_from",
    "tf32_off",
    "torch_threads",
    "unpickled_device",
]


class DeviceUnavailableError(ValueError):
    """A valid device that this machine does not have (CUDA absent, index too high)."""


@dataclass(frozen=True)
class CudaState:
    """What this process can do with CUDA: read once per call, or stood in by a test.

    Attributes
    ----------
    available : bool
        ``torch.cuda.is_available()``.
    count : int
        ``torch.cuda.device_count()``: indices ``0 .. count - 1`` exist.
    bad_fork : bool
        This process was forked from one that had initialised CUDA: CUDA cannot
        be used here (torch refuses to initialise it again).
    """

    available: bool
    count: int
    bad_fork: bool = False


def cuda_state() -> CudaState:
    """This process's :class:`CudaState`; never initialises CUDA."""
    available = torch.cuda.is_available()
    in_bad_fork = getattr(torch.cuda, "_is_in_bad_fork", lambda: False)
    return CudaState(available, torch.cuda.device_count() if available else 0, bool(in_bad_fork()))


def resolve_device(device: str | torch.device, *, cuda: CudaState | None = None) -> torch.device:
    """``"auto"`` -> CUDA when usable here, else CPU; any other device must exist here.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` or a torch device string such as ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    cuda : CudaState, optional
        The machine's CUDA; default :func:`cuda_state`.

    Raises
    ------
    ValueError
        ``device`` is not a device string.
    DeviceUnavailableError
        A CUDA device that this process cannot use: CUDA absent, an index
        ``>= device_count``, or a process forked after its parent initialised CUDA.
    """
    cuda = cuda_state() if cuda is None else cuda
    if isinstance(device, str) and device == "auto":
        usable = cuda.available and cuda.count > 0 and not cuda.bad_fork
        return torch.device("cuda" if usable else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto' or a torch device string such as 'cpu' or 'cuda:0', "
            f"got {device!r}"
        ) from exc
    if dev.type != "cuda":
        return dev
    if not cuda.available or cuda.count < 1:
        raise DeviceUnavailableError(
            f"device={device!r} was requested but CUDA is not available here"
        )
    if dev.index is not None and dev.index >= cuda.count:
        raise DeviceUnavailableError(
            f"device={device!r} was requested but only {cuda.count} CUDA device(s) exist"
        )
    if cuda.bad_fork:
        raise DeviceUnavailableError(
            f"device={device!r} was requested in a process forked after its parent had "
            f"initialised CUDA, where CUDA cannot be used; run parallel work with joblib's "
            f"default 'loky' backend or the 'spawn' start method, or use device='cpu'"
        )
    return dev


def load_device(
    device: str | torch.device, *, stacklevel: int = 2, cuda: CudaState | None = None
) -> torch.device:
    """:func:`resolve_device`, but a device missing here falls back to the CPU with a warning.

    For models written elsewhere: a model trained on a GPU always loads.
    """
    try:
        return resolve_device(device, cuda=cuda)
    except DeviceUnavailableError as exc:
        warnings.warn(
            f"load(device={device!r}): {exc}; loading onto the CPU instead",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return torch.device("cpu")


def unpickled_device(fitted: str, *, stacklevel: int = 2) -> str:
    """Where an unpickled detector scores: ``fitted``, or "cpu" (with a warning) if absent here.

    A GPU this machine lacks, or one a forked process cannot use.
    """
    try:
        resolve_device(fitted)
    except DeviceUnavailableError as exc:
        warnings.warn(
            f"unpickled a detector trained on {fitted}, which is not available here "
            f"({exc}); it scores on the CPU",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return "cpu"
    return fitted


def seed_from(random_state: Any) -> int:
    """A 63-bit seed from ``random_state`` without touching numpy's global RNG."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**63 - 1))
    if is_int(random_state):
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


def tf32_off(matmul: Any = None, cudnn: Any = None) -> Callable[[], None]:
    """Turn TF32 off for CUDA matrix products and cuDNN; return the function that restores it.

    Uses the API the installed torch has: the per-backend ``fp32_precision``
    (PyTorch 2.9 and later, where reading the legacy ``allow_tf32`` flags after a
    user set the new ones raises "mix of the legacy and new APIs") or, where that
    is absent, the legacy ``allow_tf32`` flags. The restore writes back exactly the
    values read, through the same API, so the caller's settings (either API, or
    ``torch.set_float32_matmul_precision``) read the same afterwards. Only flags
    are touched: no GPU is needed.

    Parameters
    ----------
    matmul, cudnn : optional
        ``torch.backends.cuda.matmul`` and ``torch.backends.cudnn`` (the default);
        a test hands in stand-ins to try the other API.
    """
    matmul = torch.backends.cuda.matmul if matmul is None else matmul
    cudnn = torch.backends.cudnn if cudnn is None else cudnn
    conv = getattr(cudnn, "conv", None)
    if hasattr(matmul, "fp32_precision") and hasattr(conv, "fp32_precision"):
        saved = (matmul.fp32_precision, conv.fp32_precision)
        matmul.fp32_precision = conv.fp32_precision = "ieee"

        def restore() -> None:
            matmul.fp32_precision, conv.fp32_precision = saved

        return restore
    legacy = (matmul.allow_tf32, cudnn.allow_tf32)
    matmul.allow_tf32 = cudnn.allow_tf32 = False

    def restore_legacy() -> None:
        matmul.allow_tf32, cudnn.allow_tf32 = legacy

    return restore_legacy


@contextmanager
def exact_float32(device: torch.device) -> Iterator[None]:
    """On a CUDA device, run a block without TF32 (matmul and cuDNN); restore the settings.

    TF32 (on by default for cuDNN convolutions on Ampere and newer GPUs) rounds
    products to 10 mantissa bits, so scores would differ from the CPU's by about
    1e-3. On the CPU this does nothing. See :func:`tf32_off`.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    restore = tf32_off()
    try:
        yield
    finally:
        restore()


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run with ``n_threads`` torch intra-op threads; restore afterwards.

    None: :func:`pyod_dsnf.detector._threads.default_threads` (never more than torch's current
    setting, so inside joblib workers it keeps what joblib chose).
    """
    if n_threads is None:
        n_threads = default_threads()
    n_threads = check_int("n_threads", n_threads, 1, expected="an integer >= 1 or None")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
