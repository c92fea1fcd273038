"""The shared integer check used by DSNFlow and segment_tracks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pyod_dsnf._checks import check_int


def test_check_int_accepts_python_and_numpy_integers():
    assert check_int("n", 3, 1) == 3 and type(check_int("n", np.int64(3), 1)) is int


@pytest.mark.parametrize("value", [0, -2, 2.0, True, "3", None, np.float64(2)])
def test_check_int_names_the_argument_bound_and_value(value):
    with pytest.raises(ValueError, match=re.escape(f"n must be an integer >= 1, got {value!r}")):
        check_int("n", value, 1)


def test_both_users_share_it():
    import pyod_dsnf.flow.model as model
    import pyod_dsnf.poses.windows as windows

    assert model._check_int is check_int and windows.check_int is check_int
