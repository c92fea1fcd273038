"""The normalizing flow: Glow-style steps over pose segments.

Every step is ``ActNorm -> channel permutation -> affine coupling``; each
module's ``forward`` returns ``(y, logdet)`` with one log-determinant per
sample, and ``inverse`` undoes it.
"""

from pyod_dsnf.flow.actnorm import ActNorm
from pyod_dsnf.flow.coupling import AffineCoupling
from pyod_dsnf.flow.model import DSNFlow, FlowStep
from pyod_dsnf.flow.permutation import InvertibleConv1x1, ReversePermutation

__all__ = [
    "ActNorm",
    "AffineCoupling",
    "DSNFlow",
    "FlowStep",
    "InvertibleConv1x1",
    "ReversePermutation",
]
