"""The one integer check, shared by modules that cannot depend on each other."""

from __future__ import annotations

import numbers

__all__ = ["check_int", "is_int"]


def is_int(value: object) -> bool:
    """True for a Python or numpy integer; booleans and floats (even 2.0) are not integers."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(
    name: str,
    value: object,
    minimum: int | None = None,
    *,
    none_ok: bool = False,
    expected: str | None = None,
) -> int:
    """``value`` as an int, or ValueError naming ``name``, what was expected and what came.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        Python and numpy integers are accepted; booleans and floats (even 2.0) are not.
    minimum : int, optional
        The smallest value accepted.
    none_ok : bool, default=False
        Also accept None (returned as is).
    expected : str, optional
        What the message says was expected; default ``"an integer >= minimum"``.
    """
    if none_ok and value is None:
        return value  # type: ignore[return-value]
    if not is_int(value) or (minimum is not None and value < minimum):  # type: ignore[operator]
        if expected is None:
            expected = "an integer" + ("" if minimum is None else f" >= {minimum}")
            expected += " or None" if none_ok else ""
        raise ValueError(f"{name} must be {expected}, got {value!r:.80}")
    return int(value)  # type: ignore[call-overload]
