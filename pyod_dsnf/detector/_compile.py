"""Optional ``torch.compile`` of the scoring forward, with an eager fallback.

``DSNFDetector(compile=True)`` scores through :class:`CompiledForward`: the flow's
``joint_log_prob`` compiled by ``torch.compile(dynamic=False)`` for one batch shape
(the last, shorter batch of an input is padded to it, so nothing recompiles).
Inductor (the default backend) fuses the flow's many elementwise passes; the
first call in a process traces the flow and, the first time on a machine,
generates and builds C++ kernels (docs/method.md, "Costs", gives the measured
cost). The built kernels are cached on disk between runs, in
``$TORCHINDUCTOR_CACHE_DIR`` when set, else ``~/.cache/pyod_dsnf/inductor``
(``$XDG_CACHE_HOME`` is honoured); delete that folder to clear it.

Compilation that is unavailable or fails (no C++ compiler, an unsupported
platform, a backend error) never raises: a ``UserWarning`` says why and the
detector scores eagerly from then on.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["CompiledForward", "cache_dir", "check_compile", "compiled_forward"]

_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where Inductor's built kernels are kept between runs (see the module's docstring)."""
    env = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pyod_dsnf" / "inductor"


def check_compile(value: Any) -> str | Callable | None:
    """The backend of the ``compile`` parameter: None (eager), a backend name or a callable.

    ``False`` -> None, ``True`` -> ``"inductor"``. Raises ValueError for anything else.
    """
    if value is False or value is None:
        return None
    if value is True:
        return "inductor"
    if (isinstance(value, str) and value) or callable(value):
        return value
    raise ValueError(
        f"compile must be a bool, a torch.compile backend name or a backend callable, got "
        f"{value!r:.60}"
    )


class CompiledForward:
    """``model.joint_log_prob`` compiled for batches of ``batch`` segments, else eager.

    Parameters
    ----------
    model : nn.Module
        The flow (``joint_log_prob``); its weights are read at every call.
    backend : str or callable
        ``torch.compile``'s ``backend``.
    batch : int
        The one batch size compiled for; shorter batches are padded with zeros.

    Attributes
    ----------
    failed : str or None
        Why compilation was given up (then every call runs eagerly).
    """

    def __init__(self, model: nn.Module, backend: str | Callable, batch: int) -> None:
        self.model, self.backend, self.batch = model, backend, int(batch)
        self.failed: str | None = None
        self._fn: Callable | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _fail(self, exc: BaseException) -> None:
        self.failed = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        warnings.warn(
            f"compile={self.backend!r}: torch.compile is unavailable or failed ({self.failed}); "
            f"scoring eagerly instead",
            UserWarning,
            stacklevel=4,
        )

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if n < self.batch:
            x = torch.cat([x, x.new_zeros((self.batch - n, *x.shape[1:]))])
        if self._fn is None:
            if not os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir())
            self._fn = torch.compile(self.model.joint_log_prob, backend=self.backend,
                                     dynamic=False)  # fmt: skip
        return self._fn(x)[:n]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.failed is None and x.shape[0] <= self.batch:
            try:
                if self._ready:
                    return self._run(x)
                with self._lock:  # the first call compiles, once, for every thread
                    if self.failed is None:
                        out = self._run(x)
                        self._ready = True
                        return out
            except Exception as exc:
                with self._lock:
                    if self.failed is None:
                        self._fail(exc)
        return self.model.joint_log_prob(x)


def compiled_forward(model: nn.Module, backend: str | Callable, batch: int) -> CompiledForward:
    """The :class:`CompiledForward` of ``model`` for ``backend`` and ``batch``, made once.

    Kept per model (a weak reference: it goes with the model, is never pickled).
    """
    key = (backend if isinstance(backend, str) else id(backend), int(batch))
    with _LOCK:
        per_model = _FORWARDS.setdefault(model, {})
        forward = per_model.get(key)
        if forward is None:
            forward = per_model[key] = CompiledForward(model, backend, batch)
    return forward
