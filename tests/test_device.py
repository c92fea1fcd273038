"""Device resolution, seeds, the local torch RNG (CPU and every CUDA device), threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pyod_dsnf.detector._device as device_module
from pyod_dsnf.detector._device import (
    DeviceUnavailableError,
    exact_float32,
    load_device,
    local_torch_rng,
    resolve_device,
    seed_from,
    seeds_from,
    torch_threads,
)
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


# ----------------------------------------------------------------- devices
def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be 'auto' or a torch device string"):
        resolve_device("tpu")


@NO_CUDA
def test_missing_cuda_is_its_own_error_and_load_falls_back_with_a_warning():
    with pytest.raises(DeviceUnavailableError, match="CUDA is not available here"):
        resolve_device("cuda:0")
    with pytest.warns(UserWarning, match="loading onto the CPU instead"):
        assert load_device("cuda") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be"):  # a typo is not a missing device
        load_device("cuda-ish")


# ------------------------------------------------------------------- seeds
def test_seeds_come_from_random_state_only():
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state is the subject
    a_seed, a_rng = seeds_from(5)
    b_seed, b_rng = seeds_from(5)
    assert a_seed == b_seed and a_rng.integers(1 << 30) == b_rng.integers(1 << 30)
    assert seeds_from(6)[0] != a_seed
    assert seed_from(np.random.default_rng(0)) == seed_from(np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    for bad in (-1, "seed", 1.5):
        with pytest.raises(ValueError, match="random_state must be"):
            seed_from(bad)


# ------------------------------------------------------------- local RNG
def test_local_rng_seeds_the_cpu_and_restores_it():
    before = torch.random.get_rng_state()
    with local_torch_rng(3):
        a = torch.rand(4)
        torch.rand(100)  # the block may draw as it likes
    assert torch.equal(torch.random.get_rng_state(), before)
    with local_torch_rng(3):
        b = torch.rand(4)
    assert torch.equal(a, b)


def test_local_rng_restores_the_cpu_state_when_the_block_raises():
    before = torch.random.get_rng_state()
    with pytest.raises(RuntimeError), local_torch_rng(1):
        torch.rand(3)
        raise RuntimeError
    assert torch.equal(torch.random.get_rng_state(), before)


def _lazy_cuda_seed_calls() -> list:
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if tracker is None:  # pragma: no cover - private in torch; checked where it exists
        pytest.skip("torch.cuda._lazy_seed_tracker is not available in this torch")
    return list(tracker.get_calls())


@NO_CUDA
def test_fit_and_load_queue_no_seed_for_cuda(tmp_path):
    """torch.manual_seed would queue a seed for every CUDA device, run at their first use."""
    before = _lazy_cuda_seed_calls()
    det = tiny_detector(epochs=1).fit(walking_segments(20, 8, seed=0))
    det.save(tmp_path / "m.dsnf")
    type(det).load(tmp_path / "m.dsnf")
    assert _lazy_cuda_seed_calls() == before
    assert not torch.cuda.is_initialized()


class FakeCuda:
    """Two CUDA devices' generators, standing in for a GPU machine."""

    def __init__(self) -> None:
        self.states = [torch.tensor([i, i], dtype=torch.uint8) for i in (1, 2)]
        self.seeded: list[tuple[int, int]] = []

    def get(self) -> list[torch.Tensor]:
        return [s.clone() for s in self.states]

    def set(self, states: list[torch.Tensor]) -> None:
        self.states = [s.clone() for s in states]

    def seed(self, index: int, seed: int) -> None:
        self.seeded.append((index, seed))
        self.states[index] = torch.tensor([seed % 256, 0], dtype=torch.uint8)


@pytest.fixture
def fake_cuda(monkeypatch) -> FakeCuda:
    fake = FakeCuda()
    monkeypatch.setattr(device_module, "_cuda_rng_states", fake.get)
    monkeypatch.setattr(device_module, "_set_cuda_rng_states", fake.set)
    monkeypatch.setattr(device_module, "_seed_cuda", fake.seed)
    monkeypatch.setattr(torch.cuda, "init", lambda: None)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    return fake


def test_every_cuda_device_state_is_restored(fake_cuda):
    before = fake_cuda.get()
    with local_torch_rng(7, torch.device("cuda", 1)):
        assert fake_cuda.seeded == [(1, 7)]  # only the device in use is seeded
        fake_cuda.states[0] = torch.tensor([9, 9], dtype=torch.uint8)  # the block draws on both
        fake_cuda.states[1] = torch.tensor([8, 8], dtype=torch.uint8)
    assert all(torch.equal(a, b) for a, b in zip(fake_cuda.states, before, strict=True))


def test_on_the_cpu_no_cuda_generator_is_seeded_but_all_are_restored(fake_cuda):
    before = fake_cuda.get()
    with local_torch_rng(7, "cpu"):
        fake_cuda.states[1] = torch.tensor([5, 5], dtype=torch.uint8)
    assert fake_cuda.seeded == []
    assert all(torch.equal(a, b) for a, b in zip(fake_cuda.states, before, strict=True))


def test_fit_restores_the_cuda_states_too(fake_cuda):
    before = fake_cuda.get()
    tiny_detector(epochs=1).fit(walking_segments(20, 8, seed=0))
    assert fake_cuda.seeded == []
    assert all(torch.equal(a, b) for a, b in zip(fake_cuda.states, before, strict=True))


# ------------------------------------------------------------------- TF32
def test_exact_float32_turns_tf32_off_on_cuda_only_and_restores():
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    try:
        matmul.allow_tf32 = cudnn.allow_tf32 = True
        with exact_float32(torch.device("cpu")):
            assert cudnn.allow_tf32 and matmul.allow_tf32
        with exact_float32(torch.device("cuda", 0)):  # only flags: no GPU is touched
            assert not cudnn.allow_tf32 and not matmul.allow_tf32
        assert cudnn.allow_tf32 and matmul.allow_tf32
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


# ----------------------------------------------------------------- threads
def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    target = 2 if before == 1 else 1
    with torch_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    for bad in (0, True, 1.0):
        with pytest.raises(ValueError, match="n_threads must be an integer >= 1 or None"), \
                torch_threads(bad):  # fmt: skip
            pass
