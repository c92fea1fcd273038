"""The estimator stays a thin facade: under 200 code lines, and nobody calls its private methods."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pyod_dsnf

PACKAGE = Path(pyod_dsnf.__file__).parent


def code_lines(source: str) -> int:
    """Lines holding code: blank lines, comment-only lines and docstrings do not count."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr):
            first = node.body[0]
            if isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}  # fmt: skip
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(set(range(tok.start[0], tok.end[0] + 1)) - docstrings)
    return len(lines)


def test_the_counter_counts_code_only():
    source = (
        '"""Doc\nstring."""\n\n# comment\nx = 1  # trailing\n\n\n'
        'def f():\n    """Doc."""\n    return (\n        x\n    )\n'
    )
    assert code_lines(source) == 5  # x = 1, def, return ( x )


def test_estimator_has_under_200_code_lines():
    n = code_lines((PACKAGE / "detector" / "estimator.py").read_text(encoding="utf-8"))
    assert n < 200, f"detector/estimator.py has {n} code lines"


def test_no_module_calls_a_private_method_of_a_detector():
    call = re.compile(r"\b(det|detector|estimator|fitted|self\.detector)\._[a-z]\w*\(")
    found = [f"{p.relative_to(PACKAGE)}:{i}"
             for folder in ("stream", "evaluation", "pipeline", "cli", "experiments", "datasets")
             for p in (PACKAGE / folder).rglob("*.py")
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if call.search(line)]  # fmt: skip
    assert found == []
