"""The one integer check (_checks.check_int / is_int), and that no module writes its own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import pyod_dsnf
from pyod_dsnf._checks import check_int, is_int


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


@pytest.mark.parametrize(
    ("value", "ok"),
    [(3, True), (np.int32(-1), True), (True, False), (np.bool_(True), False), (3.0, False),
     ("3", False)],
)  # fmt: skip
def test_is_int_is_integers_without_booleans(value, ok):
    assert is_int(value) is ok


def test_check_int_options():
    assert check_int("n", None, 1, none_ok=True) is None
    assert check_int("n", -5) == -5
    with pytest.raises(ValueError, match=r"n must be an integer >= 1 or None, got 0"):
        check_int("n", 0, 1, none_ok=True)
    with pytest.raises(ValueError, match=r"person must be an integer id, got 'x'"):
        check_int("person", "x", expected="an integer id")


def test_no_module_writes_its_own_integer_check():
    package = Path(pyod_dsnf.__file__).parent
    local = re.compile(r"isinstance\([^()]*,\s*(\(int, np\.integer\)|numbers\.Integral|int)\)")
    found = [f"{p.relative_to(package)}:{i}"
             for p in package.rglob("*.py") if p.name != "_checks.py"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if local.search(line) and "abs(" not in line]  # fmt: skip
    assert found == []
