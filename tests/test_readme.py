"""The README's usage blocks run as written, on small synthetic data and small settings."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"
# The only edits: smaller data and a tiny model for a fast test.
TINY = "epochs=2, n_flow_steps=2, hidden_channels=4, batch_size=32, n_threads=1, device='cpu'"
SMALL = {
    "n_train_clips=16, n_test_clips=8": "n_train_clips=2, n_test_clips=3, n_frames=80",
    "seg_len=24": "seg_len=8",
    "stride=6": "stride=4",
    "n_jobs=2": "n_jobs=1",  # GridSearchCV(n_jobs=2) is tested in tests/test_concurrency.py
    "epochs=20": TINY,
    "epochs=5": TINY,
}


def usage_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Usage", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_has_the_four_usages():
    blocks = usage_blocks()
    assert len(blocks) == 4
    assert "segment_labels(test, ds.masks)" in blocks[0]
    assert "det.fit(X_train)" in blocks[1]
    assert "GridSearchCV" in blocks[2] and '"curvature"' in blocks[2]
    assert "pyod.models" in blocks[3]


@pytest.mark.slow
def test_readme_usage_blocks_run(tmp_path, monkeypatch, capsys):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)  # the second block saves model.dsnf
    namespace: dict = {}
    try:
        for block in usage_blocks():
            for old, new in SMALL.items():
                block = block.replace(old, new)
            exec(compile(block, str(README), "exec"), namespace)
    finally:
        torch.set_num_threads(before)
    y, X_test = namespace["y_test"], namespace["X_test"]
    assert X_test.shape[1] == 8 and namespace["scores"].shape == (len(X_test),)
    assert set(np.unique(y)) == {0, 1}  # labels from the masks: both classes present
    assert (tmp_path / "model.dsnf").is_file()
    out = capsys.readouterr().out
    assert "best curvature by held-out likelihood" in out
    assert re.search(r"DSNF: AUC-ROC \d\.\d{3}", out) and "IForest: AUC-ROC" in out
    for old in SMALL:
        assert old in README.read_text(encoding="utf-8"), f"README no longer contains {old!r}"


@pytest.mark.parametrize("block", range(4))
def test_readme_blocks_are_valid_python(block):
    compile(usage_blocks()[block], "README", "exec")


def test_quick_start_has_two_commands_and_ci_runs_the_test_one():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert commands[0].endswith("pyod-dsnf demo")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci
