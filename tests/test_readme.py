"""The README's usage blocks run as written, on small synthetic data and small settings."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests._skeletons import limb_swapped, walking_segments

README = Path(__file__).resolve().parents[1] / "README.md"
# The only edit: the README's training length becomes a tiny model for a fast test.
SMALL = {"epochs=20": "epochs=2, n_flow_steps=2, hidden_channels=4, batch_size=32"}


def usage_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Usage", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_has_the_three_usages():
    blocks = usage_blocks()
    assert len(blocks) == 3
    assert "det.fit(X_train)" in blocks[0]
    assert "GridSearchCV" in blocks[1] and '"curvature"' in blocks[1]
    assert "pyod.models" in blocks[2]


def test_readme_usage_blocks_run(tmp_path, monkeypatch, capsys):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)  # the first block saves model.dsnf
    normal = walking_segments(36, 8, seed=10)
    namespace = {
        "X_train": walking_segments(48, 8, seed=11),
        "X_test": np.concatenate([normal, limb_swapped(walking_segments(12, 8, seed=12))]),
        "y_test": np.r_[np.zeros(36), np.ones(12)].astype(int),
    }
    try:
        for block in usage_blocks():
            for old, new in SMALL.items():
                block = block.replace(old, new)
            exec(compile(block, str(README), "exec"), namespace)
    finally:
        torch.set_num_threads(before)
    assert namespace["scores"].shape == (48,)
    assert (tmp_path / "model.dsnf").is_file()
    out = capsys.readouterr().out
    assert "best curvature by held-out likelihood" in out
    assert re.search(r"DSNF: AUC-ROC \d\.\d{3}", out) and "IForest: AUC-ROC" in out
    for old in SMALL:
        assert old in README.read_text(encoding="utf-8"), f"README no longer contains {old!r}"


@pytest.mark.parametrize("block", range(3))
def test_readme_blocks_are_valid_python(block):
    compile(usage_blocks()[block], "README", "exec")
