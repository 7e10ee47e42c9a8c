"""The provider is part of the engine: it imports the engine, the standard library and jinja2,
never the packages above the engine (DESIGN.md, arrows point one way)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ibs.engine.rp

ALLOWED_THIRD_PARTY = {"jinja2"}


def test_rp_imports_only_the_engine_stdlib_and_jinja2():
    for path in Path(ibs.engine.rp.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert (name == "ibs.engine" or name.startswith("ibs.engine.") or top in sys.stdlib_module_names
                        or top in ALLOWED_THIRD_PARTY), f"{path.name} imports {name}"
