"""docs/architecture.md stays true: its picture names every module, and only modules."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def _package_modules() -> set[str]:
    pkg = ROOT / "pyod_dsnf"
    out = set()
    for path in pkg.rglob("*.py"):
        rel = path.relative_to(pkg)
        if rel.name in ("__init__.py", "__main__.py", "_version.py"):
            continue
        out.add(rel.with_suffix("").as_posix())
    return out


def _named_in_picture() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```text\n(.*?)```", text, flags=re.DOTALL))
    names = set()
    for folder, inner in re.findall(r"\b([\w/]+)/ \(([^)]*)\)", blocks):  # flow/ (model, ...)
        names |= {f"{folder}/{n.strip()}" for n in inner.split(",")}
    names |= {m[:-3] for m in re.findall(r"\b[\w/]+\.py\b", blocks)}
    return names


def test_every_module_is_in_the_picture():
    missing = _package_modules() - _named_in_picture()
    assert not missing, f"docs/architecture.md does not show {sorted(missing)}"


def test_every_module_in_the_picture_exists():
    named = {n for n in _named_in_picture() if not n.startswith("poses/formats/")}
    ghosts = named - _package_modules()
    assert not ghosts, f"docs/architecture.md shows modules that do not exist: {sorted(ghosts)}"
