"""The hub's users reach it through its public surface, never its private members (issue 10)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
USERS = ["simulator/wire.py", "simulator/actions.py", "simulator/recovery.py",
         "simulator/summary.py", "simulator/crosscheck.py", "simulator/processes.py",
         "simulator/gate.py", "scenarios/runner.py", "scenarios/expect.py", "scenarios/fuzz.py",
         "scenarios/strategies.py", "scenarios/pytest_plugin.py", "scenarios/fixtures.py"]


def private_reaches(path: Path) -> list[str]:
    """``file:line: .name`` for each private attribute taken from anything but self or cls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("name", USERS)
def test_no_private_member_of_another_object_is_used(name):
    assert private_reaches(ROOT / name) == []


def test_the_check_sees_a_private_reach(tmp_path):
    planted = tmp_path / "x.py"
    planted.write_text("def f(self, hub):\n    self._ok = hub.ctl._password()\n")
    assert private_reaches(planted) == ["x.py:2: ._password"]
