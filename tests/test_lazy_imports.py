"""The package's light entry points import no torch, geoopt or pyod (PEP 562 lazy names)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "geoopt", "pyod")


def _cli(*args: str) -> str:
    call = f"main({list(args)!r})"
    return f"from pyod_dsnf.cli import main\ntry:\n    {call}\nexcept SystemExit:\n    pass"


PROGRAMS = {
    "import pyod_dsnf": "import pyod_dsnf",
    "import pyod_dsnf.poses": "import pyod_dsnf.poses",
    "pyod-dsnf --help": _cli("--help"),
    "pyod-dsnf replay --help": _cli("replay", "--help"),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_light_entry_points_import_no_heavy_package(name):
    code = PROGRAMS[name] + f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_public_names_still_load_on_first_use():
    code = (
        "import sys, pyod_dsnf\nassert 'torch' not in sys.modules\n"
        "from pyod_dsnf import DSNFDetector\nassert 'torch' in sys.modules\n"
        "print(DSNFDetector.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pyod_dsnf.detector.estimator"
