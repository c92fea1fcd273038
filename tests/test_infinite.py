"""The one policy for infinite scores: stays inf in the library, rank_safe for ranking, JSON max."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pyod_dsnf._infinite import JSON_INF, json_number, rank_safe


def test_rank_safe_puts_inf_one_above_the_largest_finite_value():
    with pytest.warns(UserWarning, match=r"m: 2 segment score\(s\) are \+inf.*set to 3"):
        s = rank_safe(np.array([0.5, np.inf, 2.0, np.inf]), "m")
    np.testing.assert_array_equal(s, [0.5, 3.0, 2.0, 3.0])


def test_rank_safe_keeps_the_shape_copies_and_can_stay_quiet(recwarn):
    z = np.array([[1.0, np.inf], [-4.0, 0.0]])
    out = rank_safe(z, warn=False)
    np.testing.assert_array_equal(out, [[1.0, 2.0], [-4.0, 0.0]])
    assert np.isinf(z[0, 1]) and not recwarn.list
    finite = np.array([1.0, 2.0])
    assert rank_safe(finite) is not finite
    np.testing.assert_array_equal(rank_safe(np.array([np.inf]), warn=False), [1.0])


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_rank_safe_refuses_nan_and_minus_inf(bad):
    with pytest.raises(FloatingPointError, match="m returned NaN or -inf"):
        rank_safe(np.array([0.0, bad]), "m")


def test_json_number_writes_the_largest_float_and_refuses_nan():
    assert JSON_INF == sys.float_info.max
    assert json_number(np.inf) == sys.float_info.max
    assert json_number(-np.inf) == -sys.float_info.max
    assert json_number(np.float32(2.5)) == 2.5
    assert json.loads(json.dumps(json_number(np.inf), allow_nan=False)) == sys.float_info.max
    with pytest.raises(ValueError, match="NaN"):
        json_number(float("nan"))
