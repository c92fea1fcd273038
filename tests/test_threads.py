"""The default torch thread count: never every core, never above torch's setting."""

from __future__ import annotations

import pytest
import torch

from pyod_dsnf.detector import _threads
from pyod_dsnf.detector._threads import default_threads, set_requested_threads


@pytest.fixture(autouse=True)
def _restore():
    before = torch.get_num_threads()
    yield
    set_requested_threads(None)
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("cores", "torch_threads", "expected"),
    [(1, 1, 1), (2, 2, 1), (3, 3, 2), (16, 16, 2), (16, 1, 1), (4, 8, 2)],
)
def test_default_leaves_a_core_free_and_caps_at_two(monkeypatch, cores, torch_threads, expected):
    monkeypatch.setattr(_threads, "_usable_cores", lambda: cores)
    torch.set_num_threads(torch_threads)
    assert default_threads() == expected


def test_an_explicit_request_wins_and_none_clears_it(monkeypatch):
    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    torch.set_num_threads(2)
    set_requested_threads(2)
    assert default_threads() == 2
    set_requested_threads(None)
    assert default_threads() == 1
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_threads must be an integer >= 1 or None"):
            set_requested_threads(bad)


def test_the_cli_records_threads_and_clears_them(monkeypatch):
    from pyod_dsnf.cli.main import _set_threads

    monkeypatch.setattr(_threads, "_usable_cores", lambda: 2)
    _set_threads(2)
    assert default_threads() == 2 and torch.get_num_threads() == 2
    _set_threads(None)
    assert default_threads() == 1


def test_the_estimator_uses_the_default_during_fit_and_restores(monkeypatch):
    import numpy as np

    from pyod_dsnf import DSNFDetector

    monkeypatch.setattr(_threads, "_usable_cores", lambda: 3)
    torch.set_num_threads(3)
    seen = []
    original = torch.nn.Module.train

    def spy(self, mode=True):
        seen.append(torch.get_num_threads())
        return original(self, mode)

    monkeypatch.setattr(torch.nn.Module, "train", spy)
    X = np.random.default_rng(0).normal(size=(24, 6, 17, 2))
    DSNFDetector(epochs=1, n_flow_steps=1, hidden_channels=2, random_state=0,
                 device="cpu").fit(X)
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == 3
