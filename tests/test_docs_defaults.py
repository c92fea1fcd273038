"""Every default quoted in docs/estimator.md and docs/guarantees.md is the code's default."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pyod_dsnf import DSNFDetector
from pyod_dsnf.detector import scoring
from pyod_dsnf.flow import DSNFlow

DOCS = Path(__file__).resolve().parents[1] / "docs"
DEFAULTS = DSNFDetector().get_params()


def _value(text: str):
    return ast.literal_eval(text.strip().strip("`"))


def _table_rows(text: str) -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, flags=re.MULTILINE)
    return {name: default for name, default in rows if name in DEFAULTS}


def test_the_parameter_table_lists_every_parameter_with_its_default():
    rows = _table_rows((DOCS / "estimator.md").read_text())
    assert set(rows) == set(DEFAULTS)
    for name, quoted in rows.items():
        assert _value(quoted) == DEFAULTS[name], f"{name}: docs {quoted}, code {DEFAULTS[name]!r}"


def test_defaults_quoted_in_prose():
    text = (DOCS / "estimator.md").read_text()
    chosen = re.search(r"The model size \((.*?)were chosen", text, flags=re.DOTALL)
    assert chosen, "the sentence on how the defaults were chosen moved"
    quoted = re.findall(r"`(\w+)=([^`]+)`", chosen.group(1))
    assert len(quoted) >= 6
    for name, value in quoted:
        assert _value(value) == DEFAULTS[name], name


@pytest.mark.parametrize("doc", ["estimator.md", "guarantees.md"])
def test_default_model_size_and_scoring_constants(doc):
    text = " ".join((DOCS / doc).read_text().split())
    sizes = re.findall(r"default[- ]size(?: model)? \(K ?= ?(\d+), H ?= ?(\d+)\)", text)
    for k, h in sizes:
        assert (int(k), int(h)) == (DEFAULTS["n_flow_steps"], DEFAULTS["hidden_channels"])
    for n in re.findall(r"forward_batch`: (\d+) segments for the default model on a CPU", text):
        flow = DSNFlow(hidden_channels=DEFAULTS["hidden_channels"])
        assert int(n) == scoring.forward_batch(flow, "cpu")
    for n in re.findall(r"SCORE_CHUNK = (\d+)", text):
        assert int(n) == scoring.SCORE_CHUNK
    assert sizes or doc == "estimator.md"
