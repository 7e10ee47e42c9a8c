"""The arrows of DESIGN.md point one way: scenarios -> simulator -> engine; nothing imports up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": {"simulator", "fake_smb", "scenarios", "reports"},
    "fake_smb": {"engine", "simulator", "scenarios", "reports"},
    "simulator": {"scenarios", "reports"},
}


def _package(module: str) -> str:
    """The project package a module name belongs to (``ibs.engine.job`` -> ``engine``), or its
    top-level name when it is not one of ours."""
    parts = module.split(".")
    return parts[1] if parts[0] == "ibs" and len(parts) > 1 else parts[0]


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {_package(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(_package(node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_what_sits_above_it(package):
    offenders = {str(p.relative_to(ROOT)): sorted(imports(p) & FORBIDDEN[package])
                 for p in (ROOT / package).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
