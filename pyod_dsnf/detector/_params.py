"""The parameters of :class:`~pyod_dsnf.DSNFDetector`, declared as a table and checked once.

:data:`PARAMETER_CONSTRAINTS` maps every constructor parameter to the rule it
must meet, in the spirit of scikit-learn's ``_parameter_constraints``. A rule
is either a constraint checked here by :func:`check_params` (called once at the
start of ``fit``) or :class:`OwnedBy`: the parameter is passed on unchanged and
the named function is the one place that checks it (``DSNFlow`` checks its own
structure, ``get_layout`` the layout, ...). Each rule is thus written once.
Every message names the parameter, what was expected and what came.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyod_dsnf._checks import is_int

__all__ = [
    "PARAMETER_CONSTRAINTS",
    "AutoOr",
    "Flag",
    "Interval",
    "Options",
    "OwnedBy",
    "check_params",
]


@dataclass(frozen=True)
class Interval:
    """A finite real (or integer) in an interval; ``none_ok`` also accepts None."""

    low: float
    high: float = math.inf
    integer: bool = False
    low_open: bool = False
    none_ok: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none_ok
        if self.integer:
            if not is_int(value):
                return False
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if not np.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return bool(above and value <= self.high)

    def __str__(self) -> str:
        what = "an integer" if self.integer else "a finite number"
        low = f"> {self.low}" if self.low_open else f">= {self.low}"
        high = "" if self.high == math.inf else f" and <= {self.high}"
        return f"{what} {low}{high}" + (" or None" if self.none_ok else "")


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings or integers; booleans never match)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return not isinstance(value, (bool, np.bool_)) and value in self.values

    def __str__(self) -> str:
        return f"one of {self.values}"


@dataclass(frozen=True)
class AutoOr:
    """``"auto"`` or a value that ``rule`` accepts."""

    rule: Interval

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, str) and value == "auto") or self.rule.accepts(value)

    def __str__(self) -> str:
        return f"'auto' or {self.rule}"


@dataclass(frozen=True)
class Flag:
    """True or False (numpy booleans included)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def __str__(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class Contamination:
    """PyOD's contamination: a share in (0, 0.5] or a PyThresh thresholder (has ``fit``)."""

    def accepts(self, value: Any) -> bool:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return bool(0.0 < value <= 0.5)
        return hasattr(value, "fit")

    def __str__(self) -> str:
        return "a float in (0, 0.5] or a PyThresh thresholder"


@dataclass(frozen=True)
class OwnedBy:
    """Not checked here: ``owner`` checks it where the parameter is used."""

    owner: str


PARAMETER_CONSTRAINTS: dict[str, Any] = {
    "contamination": Contamination(),
    "layout": OwnedBy("pyod_dsnf.poses.skeletons.get_layout"),
    "space": OwnedBy("pyod_dsnf.flow.DSNFlow"),
    "curvature": OwnedBy("pyod_dsnf.flow.DSNFlow (the Poincaré ball; unused by 'euclidean')"),
    "learn_curvature": Flag(),
    "n_flow_steps": OwnedBy("pyod_dsnf.flow.DSNFlow"),
    "hidden_channels": OwnedBy("pyod_dsnf.flow.DSNFlow"),
    "temporal_kernel": OwnedBy("pyod_dsnf.flow.DSNFlow (odd, at most T)"),
    "permutation": OwnedBy("pyod_dsnf.flow.DSNFlow"),
    "awam_lambda": Interval(0.0),
    "awam_tau": Interval(0.0, low_open=True),
    "awam_prob": Interval(0.0, 1.0, low_open=True),
    "noise_std": Interval(0.0),
    "anomaly_score": Options(("joint", "nll")),
    "normalize": Flag(),
    "augment": Flag(),
    "epochs": Interval(1, integer=True),
    "max_steps": Interval(1, integer=True, none_ok=True),
    "batch_size": AutoOr(Interval(1, integer=True)),
    "lr": Interval(0.0, low_open=True),
    "weight_decay": Interval(0.0),
    "max_grad_norm": Interval(0.0, low_open=True, none_ok=True),
    "validation_fraction": Interval(0.0, 0.99),
    "n_iter_no_change": Interval(1, integer=True, none_ok=True),
    "tol": Interval(0.0),
    "flat_channels": Options((2, 3)),
    "device": OwnedBy("pyod_dsnf.detector._device.resolve_device"),
    "random_state": OwnedBy("pyod_dsnf.detector._device.seed_from"),
    "verbose": Interval(0, integer=True),
    "n_threads": OwnedBy("pyod_dsnf.detector._device.torch_threads"),
    "n_jobs": OwnedBy("pyod_dsnf.detector._jobs.resolve_n_jobs"),
    "compile": OwnedBy("pyod_dsnf.detector._compile.check_compile"),
}


def check_params(params: dict[str, Any], constraints: dict[str, Any] | None = None) -> None:
    """Check ``params`` against the table; ValueError on the first that breaks its rule.

    Parameters
    ----------
    params : dict
        ``estimator.get_params(deep=False)``.
    constraints : dict, optional
        The table; :data:`PARAMETER_CONSTRAINTS` by default.
    """
    constraints = PARAMETER_CONSTRAINTS if constraints is None else constraints
    for name, value in params.items():
        rule = constraints[name]
        if isinstance(rule, OwnedBy) or rule.accepts(value):
            continue
        raise ValueError(f"{name} must be {rule}, got {value!r}")
