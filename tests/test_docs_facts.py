"""Facts the docs state about the code, read from the code: they cannot go stale silently.

Defaults of the parameter table: tests/test_docs_defaults.py; defaults of the command
line's options: tests/test_cli.py.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from pyod_dsnf.detector._params import PARAMETER_CONSTRAINTS, Interval, Options
from pyod_dsnf.detector._threads import MAX_DEFAULT_THREADS
from pyod_dsnf.detector.estimator import DSNFDetector

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve"]  # fmt: skip


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from pyod_dsnf.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _extras() -> dict[str, list[str]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def _package(requirement: str) -> str:
    """``"dask[distributed]>=2023.1"`` -> ``"dask"``."""
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()


def test_cli_page_counts_the_subcommands():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    m = re.search(r"has (\w+) subcommands", text)
    assert m, "docs/cli.md no longer says how many subcommands there are"
    assert m.group(1) == NUMBER_WORDS[len(_subcommands())], sorted(_subcommands())


def test_threads_rule_quoted_in_the_docs_is_the_codes():
    """``--threads`` / ``n_threads`` unset: at most MAX_DEFAULT_THREADS, one core left free."""
    for doc in ("cli.md", "estimator.md"):
        text = (DOCS / doc).read_text(encoding="utf-8")
        quoted = re.findall(r"min\((\d+), (?:usable )?cores? [-\u2212] 1\)", text)
        assert quoted, f"docs/{doc} no longer states the default thread rule"
        assert {int(n) for n in quoted} == {MAX_DEFAULT_THREADS}, doc
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert "unset: torch's setting" not in cli  # the rule before n_threads=None existed


def test_installation_page_lists_every_extra_and_its_packages():
    text = (DOCS / "installation.md").read_text(encoding="utf-8")
    section = text.split("## Extras", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, flags=re.MULTILINE))
    extras = _extras()
    assert set(rows) == set(extras)
    for extra, requirements in extras.items():
        for requirement in requirements:
            assert _package(requirement) in rows[extra].lower(), f"[{extra}]: {requirement}"


def _docstring_parameters() -> dict[str, str]:
    """``name -> type line`` of the Parameters section of DSNFDetector's docstring."""
    doc = DSNFDetector.__doc__
    section = doc.split("Parameters\n    ----------\n", 1)[1].split("\n    Attributes", 1)[0]
    return dict(re.findall(r"^    (\w+) : (.*)$", section, flags=re.MULTILINE))


def _interval(text: str) -> tuple[bool, float, float, bool] | None:
    """``"float in [0, 0.99], default=0.1"`` -> ``(closed_low, 0.0, 0.99, closed_high)``."""
    m = re.search(r"in ([\[(])([-\d.e]+), ([-\d.e]+|inf)([\])])", text)
    if not m:
        return None
    return m.group(1) == "[", float(m.group(2)), float(m.group(3)), m.group(4) == "]"


def test_docstring_ranges_and_options_are_the_parameter_tables():
    params = _docstring_parameters()
    assert set(params) == set(PARAMETER_CONSTRAINTS)
    checked = 0
    for name, rule in PARAMETER_CONSTRAINTS.items():
        quoted = _interval(params[name])
        if isinstance(rule, Interval) and quoted is not None:
            assert quoted == (not rule.low_open, rule.low, rule.high, True), name
            checked += 1
        if isinstance(rule, Options) and params[name].startswith("{"):
            listed = params[name].split("}", 1)[0].strip("{")
            values = {ast.literal_eval(v) for v in listed.split(", ")}
            assert values == set(rule.values), name
            checked += 1
    assert checked >= 3  # validation_fraction, anomaly_score, flat_channels


def test_estimator_page_quotes_the_validation_fraction_range():
    rule = PARAMETER_CONSTRAINTS["validation_fraction"]
    row = re.search(r"^\| `validation_fraction` \|.*$", (DOCS / "estimator.md").read_text(),
                    flags=re.MULTILINE).group(0)  # fmt: skip
    assert f"[{rule.low:g}, {rule.high:g}]" in row


def test_readme_says_which_examples_take_small():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    para = text.split("Examples: [examples/](examples/)", 1)[1].split("\n\n", 1)[0]
    with_small, without = para.split("take `--small`", 1)
    on_disk = {p.name for p in (ROOT / "examples").glob("*.py")}
    named_with = set(re.findall(r"`(\w+\.py)", with_small))
    named_without = set(re.findall(r"`(\w+\.py)", without))
    assert named_with | named_without == on_disk
    for name in on_disk:
        source = (ROOT / "examples" / name).read_text(encoding="utf-8")
        assert ('"--small"' in source) == (name in named_with), name


def test_api_reference_documents_each_object_once():
    """A module or object documented twice is a Sphinx warning, an error under -W.

    (The full check is ``sphinx-build -n -W``, run by .ci/run and ``tox -e docs``; this
    catches the commonest cause, two merges adding the same directive, in the fast lane.)
    """
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    targets = re.findall(r"^\.\. auto\w+:: ([\w.]+)", text, flags=re.MULTILINE)
    duplicated = sorted({t for t in targets if targets.count(t) > 1})
    assert not duplicated, f"docs/api.rst documents these more than once: {duplicated}"
