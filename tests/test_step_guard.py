"""Deferred finiteness checks of the training loop (one GPU wait per many steps)."""

from __future__ import annotations

import pytest
import torch

from pyod_dsnf.detector._step_guard import CUDA_CHECK_EVERY, StepGuard, check_every

NAN, ONE = torch.tensor(float("nan")), torch.tensor(1.0)


def test_every_step_on_the_cpu_and_every_n_steps_elsewhere():
    assert check_every(torch.device("cpu")) == 1
    assert check_every(torch.device("cuda", 0)) == CUDA_CHECK_EVERY > 1
    with pytest.raises(ValueError, match="every must be >= 1"):
        StepGuard(0)


def test_every_one_raises_where_the_value_is_made():
    guard = StepGuard(1)
    guard.watch(ONE, "loss {value} at batch 1")
    with pytest.raises(FloatingPointError, match=r"^loss nan at batch 2$"):
        guard.watch(NAN, "loss {value} at batch 2")


def test_deferred_checks_report_the_first_bad_value_with_its_own_message():
    guard = StepGuard(4)
    guard.watch(ONE, "a {value}")
    guard.watch(torch.tensor(float("inf")), "b {value}")
    guard.watch(NAN, "c {value}")  # three waiting: nothing read yet
    with pytest.raises(FloatingPointError, match=r"^b inf$"):
        guard.watch(ONE, "d {value}")
    guard.watch(NAN, "e {value}")
    with pytest.raises(FloatingPointError, match=r"^e nan$"):
        guard.check()  # the end of an epoch checks what is waiting
    guard.check()  # nothing waiting: nothing to do


def test_finite_values_pass_and_the_queue_empties():
    guard = StepGuard(2)
    for _ in range(5):
        guard.watch(ONE.clone().requires_grad_(True) * 2, "x {value}")
    guard.check()
    assert guard._pending == []
