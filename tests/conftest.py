"""Shared fixtures: the real PoseLift copy (skipped where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def poselift_dir() -> Path | None:
    """The PoseLift copy: $POSELIFT_DIR, else ../shared/data/poselift beside the repo."""
    env = os.environ.get("POSELIFT_DIR")
    candidate = Path(env) if env else _REPO.parent / "shared" / "data" / "poselift"
    return candidate if (candidate / "pose" / "train").is_dir() else None


@pytest.fixture(scope="session")
def poselift_path() -> Path:
    path = poselift_dir()
    if path is None:
        pytest.skip(
            "PoseLift data not found (set POSELIFT_DIR or place it at ../shared/data/poselift)"
        )
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests on one torch thread, restoring the setting afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
