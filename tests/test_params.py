"""The parameter table: every parameter has one rule, checked in one place."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector._params import PARAMETER_CONSTRAINTS, Interval, OwnedBy, check_params
from tests._skeletons import tiny_detector, walking_segments

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_every_parameter_has_exactly_one_rule():
    names = set(inspect.signature(DSNFDetector.__init__).parameters) - {"self"}
    assert set(PARAMETER_CONSTRAINTS) == names


def test_defaults_meet_their_rules():
    check_params(DSNFDetector().get_params(deep=False))


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("epochs", 0, "epochs must be an integer >= 1, got 0"),
        ("epochs", 2.0, "epochs must be an integer >= 1, got 2.0"),
        ("epochs", True, "epochs must be an integer >= 1, got True"),
        ("lr", float("nan"), "lr must be a finite number > 0.0, got nan"),
        ("validation_fraction", 1.0, "validation_fraction must be a finite number >= 0.0 and <="),
        ("max_grad_norm", 0.0, "max_grad_norm must be a finite number > 0.0 or None, got 0.0"),
        ("anomaly_score", "max", "anomaly_score must be one of ('joint', 'nll'), got 'max'"),
        ("flat_channels", True, "flat_channels must be one of (2, 3), got True"),
        ("augment", 1, "augment must be True or False, got 1"),
        ("contamination", 0.0, "contamination must be a float in (0, 0.5]"),
    ],
)
def test_messages_name_the_parameter_the_rule_and_the_value(param, value, message):
    params = DSNFDetector(**{param: value}).get_params(deep=False)
    with pytest.raises(ValueError) as info:
        check_params(params)
    assert str(info.value).startswith(message)


def test_numpy_scalars_are_accepted():
    check_params(DSNFDetector(epochs=np.int64(3), lr=np.float32(0.01)).get_params(deep=False))
    det = tiny_detector(epochs=np.int64(1), n_flow_steps=np.int64(2), curvature=np.float32(0.5))
    det.fit(walking_segments(8, 6, seed=0))
    assert det.curvature_ == 0.5


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("n_flow_steps", 0, "n_flow_steps must be an integer >= 1, got 0"),
        ("hidden_channels", 1.5, "hidden_channels must be an integer >= 1, got 1.5"),
        ("space", "spherical", "space must be one of"),
        ("permutation", "random", "permutation must be one of"),
        ("temporal_kernel", 2, "temporal_kernel must be odd"),
        ("layout", "coco18", "layout must be one of"),
    ],
)
def test_rules_owned_elsewhere_are_left_to_their_owner(param, value, match):
    assert isinstance(PARAMETER_CONSTRAINTS[param], OwnedBy)
    check_params(DSNFDetector(**{param: value}).get_params(deep=False))  # not checked here
    with pytest.raises(ValueError, match=match):  # but by the owner, in fit
        tiny_detector(**{param: value}).fit(walking_segments(8, 6, seed=0))


def test_interval_text():
    assert str(Interval(1, integer=True, none_ok=True)) == "an integer >= 1 or None"
    assert str(Interval(0.0, 1.0, low_open=True)) == "a finite number > 0.0 and <= 1.0"
