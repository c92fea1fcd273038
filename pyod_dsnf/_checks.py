"""Small argument checks shared by modules that cannot depend on each other."""

from __future__ import annotations

import numbers

__all__ = ["check_int"]


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int, or ValueError naming ``name``, the bound and what came.

    Python and numpy integers are accepted; booleans and floats (even 2.0) are not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
