"""Finiteness checks of the training loop that wait for a GPU once per many steps.

Reading a value computed on a GPU (``loss.item()``, ``if torch.isfinite(loss)``)
makes the host wait until the GPU has caught up, so a loop that does it every
step cannot queue the next step's kernels while the GPU runs this one. A
:class:`StepGuard` keeps the scalars to check (the loss, the gradient norm) on
their device and looks at all of them together every ``every`` steps: one wait
instead of two per step. The first non-finite one still raises
``FloatingPointError`` with its own message (epoch, batch and value); on the CPU,
where reading is free, ``every`` is 1 and the check runs where the value is made,
as a plain ``if not torch.isfinite(...)`` would.
"""

from __future__ import annotations

import torch

__all__ = ["CUDA_CHECK_EVERY", "StepGuard", "check_every"]

#: Training steps between two finiteness checks on a GPU. A non-finite loss is then
#: reported at most this many steps late (the fit fails either way).
CUDA_CHECK_EVERY = 32


def check_every(device: torch.device) -> int:
    """Steps between two checks: 1 on the CPU, :data:`CUDA_CHECK_EVERY` elsewhere."""
    return 1 if torch.device(device).type == "cpu" else CUDA_CHECK_EVERY


class StepGuard:
    """Deferred ``isfinite`` checks of scalars, one host read per ``every`` watched values.

    Parameters
    ----------
    every : int
        Check once this many values wait (1: check each at once).
    """

    def __init__(self, every: int) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every!r}")
        self.every = int(every)
        self._pending: list[tuple[torch.Tensor, str]] = []

    def watch(self, value: torch.Tensor, message: str) -> None:
        """Check ``value`` now or later; ``message.format(value=v)`` is the error if not finite."""
        self._pending.append((value.detach(), message))
        if len(self._pending) >= self.every:
            self.check()

    def check(self) -> None:
        """Check every waiting value (one host read); raise for the first non-finite one."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if len(pending) == 1:
            bad = [] if torch.isfinite(pending[0][0]).all() else [0]
        else:
            finite = torch.stack([torch.isfinite(v).all() for v, _ in pending])
            bad = [] if finite.all() else [int(torch.nonzero(~finite)[0])]
        if bad:
            value, message = pending[bad[0]]
            raise FloatingPointError(message.format(value=value.item()))
