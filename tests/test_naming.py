"""Every test is named for what a user sees, one style throughout: ``test_it_...``."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_it_names_every_test_in_one_style() -> None:
    odd = [
        f"{path.relative_to(TESTS)}::{node.name}"
        for path in TESTS.rglob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
        and not node.name.startswith("test_it_")
    ]
    assert odd == []
