"""The tracker versions docs/data.md names are the ones the requirements files install."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_data_doc_names_the_pinned_tracker_versions():
    pins = dict(re.findall(r"^([\w-]+)==([\w.]+)$",
                           (ROOT / "requirements" / "track-no-deps.txt").read_text(),
                           flags=re.M))  # fmt: skip
    assert set(pins) == {"norfair", "filterpy"}
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    for name, version in pins.items():
        named = set(re.findall(rf"\b{name} (\d+\.\d+\.\d+)", text, flags=re.I))
        assert named == {version}, (name, named, version)
