"""Tests of the training loop: early stopping restores the best epoch; NaN guards."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyod_dsnf.detector._training import TrainingConfig, held_out_nll_bpd, train_flow
from pyod_dsnf.flow import DSNFlow

# Tiny models run several times faster on one thread than on two contended ones.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _setup(seed: int = 0):
    torch.manual_seed(seed)  # test-local: the tests do not check the global state
    model = DSNFlow(in_channels=2, n_frames=6, graph="coco17", n_flow_steps=2,
                    hidden_channels=4, space="euclidean")  # fmt: skip
    data = torch.randn(40, 2, 6, 17)
    return model, data[:32], data[32:]


def _train(model, train, val, **kw):
    run = {"rng": kw.pop("rng", np.random.default_rng(0)),
           "device": kw.pop("device", torch.device("cpu")), "callback": kw.pop("callback", None),
           "on_step": kw.pop("on_step", None)}
    config = dict(epochs=3, batch_size=16, lr=1e-2, weight_decay=0.0, max_grad_norm=5.0,
                  awam_lambda=0.0, awam_tau=1.0, n_iter_no_change=None, tol=0.0, verbose=0,
                  settings="test")  # fmt: skip
    config.update(kw)
    return train_flow(model, train, val, TrainingConfig(**config), **run)


def test_history_and_eval_mode():
    model, train, val = _setup()
    history, n_epochs = _train(model, train, val)
    assert n_epochs == 3
    assert all(len(v) == 3 for v in history.values())
    assert not model.training
    scores = held_out_nll_bpd(model, val, 3, torch.device("cpu"))
    assert scores.shape == (8,) and scores.dtype == np.float64
    assert history["validation_nll"][-1] == pytest.approx(scores.mean(), rel=1e-5)


def test_early_stopping_restores_the_best_weights():
    model, train, val = _setup()
    history, n_epochs = _train(model, train, val, epochs=6, lr=0.5, n_iter_no_change=2)
    best = min(history["validation_nll"])
    # the last epoch is worse than the best one, so keeping the last weights would fail here
    assert n_epochs < 6 and history["validation_nll"][-1] > best + 1e-3
    final = held_out_nll_bpd(model, val, 16, torch.device("cpu")).mean()
    assert final == pytest.approx(best, rel=1e-5)
    assert n_epochs == len(history["validation_nll"])


def test_non_finite_gradient_raises():
    model, train, val = _setup()
    # torch's own gradient hook makes one parameter's gradient infinite: the loss stays
    # finite and the real clip_grad_norm_ reports an infinite norm
    next(model.parameters()).register_hook(lambda grad: torch.full_like(grad, float("inf")))
    with pytest.raises(FloatingPointError, match=r"gradient norm became inf .* lower lr"):
        _train(model, train, val)


def test_training_noise_is_seeded_by_rng_and_changes_the_fit():
    def fitted(noise_std, seed):
        model, train, val = _setup()
        state = torch.random.get_rng_state()
        _train(model, train, val, noise_std=noise_std, rng=np.random.default_rng(seed))
        assert torch.equal(torch.random.get_rng_state(), state)  # own generator
        return held_out_nll_bpd(model, val, 8, torch.device("cpu"))

    noisy = fitted(0.1, 0)
    np.testing.assert_array_equal(noisy, fitted(0.1, 0))
    assert not np.allclose(noisy, fitted(0.1, 1))
    assert not np.allclose(noisy, fitted(0.0, 0))


def test_verbose_progress_advances_per_batch_with_the_epoch_and_loss(capsys):
    model, train, val = _setup()
    _train(model, train, val, epochs=2, batch_size=8, verbose=1)
    err = capsys.readouterr().err
    assert "DSNF fit epoch 1/2" in err and "DSNF fit epoch 2/2" in err
    assert "4/4" in err and "batch" in err  # 32 segments in batches of 8
    assert "loss=" in err


def test_callback_sees_every_epoch():
    model, train, val = _setup()
    seen = []
    _train(model, train, val, epochs=3, callback=lambda epoch, m: seen.append((epoch, m)))
    assert [e for e, _ in seen] == [1, 2, 3]
    assert all(m is model for _, m in seen)


def test_on_step_sees_every_optimiser_step():
    model, train, val = _setup()
    steps = []
    _train(model, train, val, epochs=2, batch_size=12, max_steps=5, on_step=steps.append)
    # 32 segments in batches of 12: 3 steps per epoch, the step limit cuts epoch 2 short
    assert [(s.epoch, s.batch, s.step) for s in steps] == [
        (1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 4), (2, 2, 5)]  # fmt: skip
    assert all(s.awam_lambda == 0.0 and s.loss.shape == () for s in steps)
    assert not any(s.loss.requires_grad for s in steps)


def test_awam_prob_weights_the_term_on_a_share_of_the_steps():
    def fitted(prob, seed=0):
        steps = []
        model, train, val = _setup()
        _train(model, train, val, epochs=8, awam_lambda=0.1, awam_prob=prob,
               rng=np.random.default_rng(seed), on_step=steps.append)  # fmt: skip
        scores = held_out_nll_bpd(model, val, 8, torch.device("cpu"))
        return scores, [s.awam_lambda for s in steps]

    scores, used = fitted(0.25)
    assert set(used) == {0.0, 0.4}  # lambda / prob on the steps that draw it, else 0
    assert 0 < used.count(0.4) < len(used)
    again, used_again = fitted(0.25)
    np.testing.assert_array_equal(scores, again)
    assert used == used_again
    _, other = fitted(0.25, seed=1)
    assert other != used
    _, every = fitted(1.0)
    assert set(every) == {0.1}
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="awam_prob must be in"):
            fitted(bad)


def test_on_epoch_reaches_the_estimators_fit_and_only_inside_the_block():
    from pyod_dsnf.detector._training import on_epoch
    from tests._skeletons import tiny_detector, walking_segments

    X = walking_segments(16, 8, seed=0)
    seen = []
    with on_epoch(lambda epoch, model: seen.append((epoch, model.training))):
        det = tiny_detector(epochs=2, n_iter_no_change=None, random_state=0).fit(X)
    assert seen == [(1, True), (2, True)] and det.n_epochs_ == 2
    tiny_detector(epochs=1, random_state=0).fit(X)
    assert len(seen) == 2


def test_training_config_from_the_estimators_parameters():
    from pyod_dsnf import DSNFDetector

    params = DSNFDetector(lr=np.float32(0.5), epochs=np.int64(3), max_grad_norm=None,
                          awam_prob=0.5).get_params()  # fmt: skip
    config = TrainingConfig.from_params(params)
    assert type(config.lr) is float and config.lr == 0.5
    assert type(config.epochs) is int and config.epochs == 3
    assert config.max_grad_norm is None and config.awam_prob == 0.5
    assert "awam_prob=0.5" in config.settings and "space='dual'" in config.settings
