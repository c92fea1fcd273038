"""The training data of a fit: spread check, hold-out split, mirrored copies."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.detector._training_data import check_spread, training_sets
from pyod_dsnf.detector._validation import mirror_segments
from pyod_dsnf.poses.skeletons import get_layout

COCO = get_layout("coco17")


def _data(n: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 2, 4, 17)).astype(np.float32)


def test_hold_out_is_drawn_before_mirroring_and_never_trained_on():
    data = _data(20)
    train, val = training_sets(data, COCO, validation_fraction=0.2, augment=True,
                               normalized=True, rng=np.random.default_rng(1))  # fmt: skip
    assert val.shape == (4, 2, 4, 17) and train.shape == (32, 2, 4, 17)
    originals, mirrors = train[:16], train[16:]
    np.testing.assert_array_equal(mirrors, mirror_segments(originals, COCO, normalized=True))
    rows = {r.tobytes() for r in data}
    held = {r.tobytes() for r in val}
    assert held <= rows and not held & {r.tobytes() for r in originals}
    assert {r.tobytes() for r in originals} | held == rows


def test_split_follows_the_generator():
    data = _data(20)
    a = training_sets(data, COCO, validation_fraction=0.25, augment=False, normalized=True,
                      rng=np.random.default_rng(3))  # fmt: skip
    b = training_sets(data, COCO, validation_fraction=0.25, augment=False, normalized=True,
                      rng=np.random.default_rng(3))  # fmt: skip
    c = training_sets(data, COCO, validation_fraction=0.25, augment=False, normalized=True,
                      rng=np.random.default_rng(4))  # fmt: skip
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize(("n", "fraction", "n_val"), [(20, 0.0, 0), (20, 0.01, 1), (10, 0.15, 2)])
def test_hold_out_size(n, fraction, n_val):
    train, val = training_sets(_data(n), COCO, validation_fraction=fraction, augment=False,
                               normalized=True, rng=np.random.default_rng(0))  # fmt: skip
    assert (0 if val is None else len(val)) == n_val and len(train) == n - n_val


def test_too_few_segments_train_on_all_with_a_warning():
    with pytest.warns(UserWarning, match="X has only 2 segments, too few for validation_fraction"):
        train, val = training_sets(_data(2), COCO, validation_fraction=0.5, augment=False,
                                   normalized=True, rng=np.random.default_rng(0))  # fmt: skip
    assert val is None and len(train) == 2


def test_check_spread():
    check_spread(_data(3), normalize=True)
    flat = _data(3)
    flat[:, 1] = 2.0
    with pytest.raises(ValueError, match=r"the y coordinates .* do not vary .* normalize=False"):
        check_spread(flat, normalize=True)
    with pytest.raises(ValueError, match=r"give varied segments$"):
        check_spread(flat, normalize=False)
