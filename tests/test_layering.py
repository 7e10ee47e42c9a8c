"""The arrows of docs/ARCHITECTURE.md hold in the code: each package imports only what its row of
the table names, lazy imports inside functions included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "fake_smb", "reports", "scenarios", "simulator")
ROW = re.compile(r"^\| *([a-z_]+) *\| *(.*?) *\|$")


def arrows(doc: str) -> dict[str, set[str]]:
    """The table "package | may import" of ARCHITECTURE.md: each package's allowed imports, as
    package names (``engine``) or module names (``engine.units``)."""
    table: dict[str, set[str]] = {}
    for line in doc.splitlines():
        m = ROW.match(line)
        if m and m.group(1) in PACKAGES:
            allowed = m.group(2)
            table[m.group(1)] = set() if allowed.startswith("(") else {
                a.strip() for a in allowed.split(",")}
    return table


def _ours(module: str) -> str | None:
    """``ibs.engine.job`` -> ``engine.job``; None for a module that is not the project's."""
    parts = module.split(".")
    if parts[0] == "ibs" and len(parts) > 1 and parts[1] in PACKAGES:
        return ".".join(parts[1:])
    return None


def imports(path: Path) -> set[str]:
    """The project's modules that ``path`` imports, as ``engine.job``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {m for m in map(_ours, names) if m is not None}
    return found


def offences(package: str, allowed: set[str]) -> dict[str, list[str]]:
    def permitted(module: str) -> bool:
        top = module.split(".")[0]
        return top == package or top in allowed or any(
            module == a or module.startswith(a + ".") for a in allowed if "." in a)

    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        # `from ibs.engine import units` names both ibs.engine and ibs.engine.units: one of them
        # being permitted is enough.
        bad = sorted(m for m in imports(path) if not permitted(m)
                     and not any(o.startswith(m + ".") and permitted(o) for o in imports(path)))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


TABLE = arrows((ROOT / "docs" / "ARCHITECTURE.md").read_text())


def test_the_table_names_every_package():
    assert sorted(TABLE) == sorted(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_row_allows(package):
    assert offences(package, TABLE[package]) == {}


def test_an_import_against_the_table_is_found(tmp_path, monkeypatch):
    """The check itself: a lazy import of the simulator inside an engine function, and a
    renderer importing more of the engine than units, are both reported."""
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text(
        "def f():\n    from ibs.simulator.hub import Hub\n    return Hub\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "y.py").write_text(
        "from ibs.engine import units\nfrom ibs.engine.certs import thumbprint\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert offences("engine", TABLE["engine"]) == {"engine/x.py": ["simulator.hub",
                                                                    "simulator.hub.Hub"]}
    assert offences("reports", TABLE["reports"]) == {"reports/y.py": [
        "engine.certs", "engine.certs.thumbprint"]}
