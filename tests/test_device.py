"""Device resolution, seeds, the local torch RNG (CPU and every CUDA device), threads."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import pyod_dsnf.detector._device as device_module
from pyod_dsnf.detector._device import (
    CudaState,
    DeviceUnavailableError,
    cuda_state,
    exact_float32,
    load_device,
    local_torch_rng,
    resolve_device,
    seed_from,
    seeds_from,
    tf32_off,
    torch_threads,
)
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


# ----------------------------------------------------------------- devices
NONE = CudaState(available=False, count=0)
ONE_GPU = CudaState(available=True, count=1)
FORKED = CudaState(available=True, count=1, bad_fork=True)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    here = cuda_state()
    assert resolve_device("auto").type == ("cuda" if here.available and here.count else "cpu")
    with pytest.raises(ValueError, match="device must be 'auto' or a torch device string"):
        resolve_device("tpu")


@pytest.mark.parametrize(
    ("machine", "auto"), [(NONE, "cpu"), (ONE_GPU, "cuda"), (FORKED, "cpu")]
)
def test_auto_is_cuda_only_where_this_process_can_use_it(machine, auto):
    assert resolve_device("auto", cuda=machine) == torch.device(auto)
    assert resolve_device("cpu", cuda=machine) == torch.device("cpu")


@pytest.mark.parametrize(
    ("device", "machine", "why"),
    [
        ("cuda", NONE, "CUDA is not available here"),
        ("cuda:0", NONE, "CUDA is not available here"),
        ("cuda:1", ONE_GPU, "only 1 CUDA device"),  # a detector pickled on a second GPU
        ("cuda:0", FORKED, "forked after its parent had initialised CUDA.*'loky'"),
    ],
)
def test_unusable_cuda_is_its_own_error_and_load_falls_back_with_a_warning(device, machine, why):
    with pytest.raises(DeviceUnavailableError, match=why):
        resolve_device(device, cuda=machine)
    with pytest.warns(UserWarning, match=f"load.device='{device}'.*{why}.*onto the CPU instead"):
        assert load_device(device, cuda=machine) == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be"):  # a typo is not a missing device
        load_device("cuda-ish", cuda=machine)


def test_an_existing_cuda_index_resolves_without_touching_a_gpu():
    assert resolve_device("cuda:0", cuda=ONE_GPU) == torch.device("cuda", 0)
    assert resolve_device("cuda", cuda=ONE_GPU) == torch.device("cuda")


def test_cuda_state_reads_this_machine_without_initialising_cuda():
    initialised = torch.cuda.is_initialized()
    here = cuda_state()
    assert here.available == torch.cuda.is_available()
    assert here.count == (torch.cuda.device_count() if here.available else 0)
    assert torch.cuda.is_initialized() == initialised


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
_MATMUL, _CUDNN = torch.backends.cuda.matmul, torch.backends.cudnn
NEW_API = hasattr(_MATMUL, "fp32_precision")


def _tf32_settings() -> dict[str, object]:
    """Every TF32 setting a user can read, through both APIs (an error read as its type)."""
    readers = {
        "torch.get_float32_matmul_precision()": torch.get_float32_matmul_precision,
        "matmul.allow_tf32": lambda: _MATMUL.allow_tf32,
        "cudnn.allow_tf32": lambda: _CUDNN.allow_tf32,
    }
    if NEW_API:
        readers |= {
            "fp32_precision": lambda: torch.backends.fp32_precision,
            "matmul.fp32_precision": lambda: _MATMUL.fp32_precision,
            "cudnn.fp32_precision": lambda: _CUDNN.fp32_precision,
            "cudnn.conv.fp32_precision": lambda: _CUDNN.conv.fp32_precision,
            "cudnn.rnn.fp32_precision": lambda: _CUDNN.rnn.fp32_precision,
        }
    out: dict[str, object] = {}
    for name, read in readers.items():
        try:
            out[name] = read()
        except RuntimeError as exc:  # "mix of the legacy and new APIs"
            out[name] = type(exc)
    return out


def _user_sets(how: str) -> None:
    """One way a user sets TF32 (none of them needs a GPU: these are flags)."""
    if how == "legacy on":
        _MATMUL.allow_tf32 = _CUDNN.allow_tf32 = True
    elif how == "legacy off":
        _MATMUL.allow_tf32 = _CUDNN.allow_tf32 = False
    elif how == "matmul precision high":
        torch.set_float32_matmul_precision("high")
    elif how == "new matmul tf32":
        _MATMUL.fp32_precision = "tf32"
    elif how == "new global tf32":
        torch.backends.fp32_precision = "tf32"
    elif how == "new cudnn ieee":
        _CUDNN.conv.fp32_precision = "ieee"


USER_SETTINGS = ["untouched", "legacy on", "legacy off", "matmul precision high"]
USER_SETTINGS += ["new matmul tf32", "new global tf32", "new cudnn ieee"] if NEW_API else []


@pytest.fixture
def restore_tf32_settings():
    """Each test sets TF32 in its own way; the process gets torch's defaults back after."""
    precision = torch.get_float32_matmul_precision()
    yield
    if NEW_API:
        torch.backends.fp32_precision = "none"
        for backend in (_MATMUL, _CUDNN, _CUDNN.conv, _CUDNN.rnn):
            backend.fp32_precision = "none"
    _MATMUL.allow_tf32, _CUDNN.allow_tf32 = False, True  # torch's defaults
    torch.set_float32_matmul_precision(precision)


@pytest.mark.usefixtures("restore_tf32_settings")
@pytest.mark.parametrize("how", USER_SETTINGS)
def test_exact_float32_turns_tf32_off_on_cuda_only_and_restores_exactly(how):
    _user_sets(how)
    before = _tf32_settings()
    with exact_float32(torch.device("cpu")):
        assert _tf32_settings() == before
    with exact_float32(torch.device("cuda", 0)):  # only flags: no GPU is touched
        if NEW_API:
            assert _MATMUL.fp32_precision == "ieee" and _CUDNN.conv.fp32_precision == "ieee"
        else:  # pragma: no cover - torch before 2.9
            assert not _MATMUL.allow_tf32 and not _CUDNN.allow_tf32
    assert _tf32_settings() == before


@pytest.mark.usefixtures("restore_tf32_settings")
def test_exact_float32_restores_when_the_block_raises():
    _user_sets("legacy on")
    before = _tf32_settings()
    with pytest.raises(KeyError), exact_float32(torch.device("cuda")):
        raise KeyError
    assert _tf32_settings() == before


def test_tf32_off_uses_the_legacy_flags_where_torch_has_no_fp32_precision():
    matmul, cudnn = SimpleNamespace(allow_tf32=True), SimpleNamespace(allow_tf32=False)
    restore = tf32_off(matmul, cudnn)
    assert (matmul.allow_tf32, cudnn.allow_tf32) == (False, False)
    restore()
    assert (matmul.allow_tf32, cudnn.allow_tf32) == (True, False)


def test_tf32_off_uses_only_the_new_api_where_torch_has_it():
    """Reading ``allow_tf32`` after a user set ``fp32_precision`` raises in torch >= 2.9."""

    class Refuses:
        def __init__(self, precision: str) -> None:
            self.fp32_precision = precision

        @property
        def allow_tf32(self) -> bool:
            raise RuntimeError("mix of the legacy and new APIs")

    matmul = Refuses("tf32")
    cudnn = SimpleNamespace(conv=Refuses("none"))
    restore = tf32_off(matmul, cudnn)
    assert (matmul.fp32_precision, cudnn.conv.fp32_precision) == ("ieee", "ieee")
    restore()
    assert (matmul.fp32_precision, cudnn.conv.fp32_precision) == ("tf32", "none")


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
