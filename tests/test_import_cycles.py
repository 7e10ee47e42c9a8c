"""No two modules of the project import each other, however indirectly (docs/ARCHITECTURE.md,
Gates).

Every import counts: at the top of a module, inside a function (a lazy import only postpones the
knot) and under ``if TYPE_CHECKING:`` (the two modules still have to be read together). The one
exception is a package importing its own submodules (``engine/share/__init__.py`` re-exports
``LocalShare``), which Python resolves by design.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "fake_smb", "reports", "scenarios", "simulator")


def modules(root: Path) -> dict[str, Path]:
    """Every module of the five packages by dotted name (``engine.share`` for its __init__)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _ours(name: str) -> str | None:
    """``ibs.engine.job`` -> ``engine.job``; None for anything not the project's."""
    parts = name.split(".")
    if len(parts) > 1 and parts[0] == "ibs" and parts[1] in PACKAGES:
        return ".".join(parts[1:])
    return None


def imported(module: str, path: Path, known: set[str]) -> dict[str, int]:
    """The project's modules ``module`` imports, each with the line of its first import.

    ``from ibs.fake_smb import channels`` imports the module ``fake_smb.channels``;
    ``from ibs.engine.job import Job`` imports ``engine.job``.
    """
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [m for a in node.names if (m := _ours(a.name)) is not None]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = _ours(node.module or "") or ""
            if not source:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.append(sub if sub in known else source)
        for target in targets:
            while target and target not in known:  # `import ibs.engine.x.y` where y is a name
                target = target.rpartition(".")[0]
            if target and target != module:
                found.setdefault(target, node.lineno)
    return found


def graph(root: Path) -> dict[str, dict[str, int]]:
    """Module -> the modules it imports (with the line), a package's own submodules left out."""
    mods = modules(root)
    known = set(mods)
    edges = {}
    for module, path in mods.items():
        own = module + "." if path.name == "__init__.py" else None
        edges[module] = {t: line for t, line in imported(module, path, known).items()
                         if own is None or not t.startswith(own)}
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each group of modules that import each other (strongly connected, Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        # Recursion is fine: the project's import chains are a few dozen deep at most.
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(groups)


def describe(root: Path, group: list[str], edges: dict[str, dict[str, int]]) -> str:
    """One line per import inside the group: where it is, so the reader can go and cut it."""
    mods = modules(root)
    lines = [f"{' <-> '.join(group)}:"]
    for a in group:
        lines += [f"  {mods[a].relative_to(root)}:{line} imports {b}"
                  for b, line in sorted(edges[a].items()) if b in group]
    return "\n".join(lines)


def test_no_two_modules_import_each_other():
    edges = graph(ROOT)
    found = cycles(edges)
    assert not found, ("import cycles (break each with a Protocol the importer defines, or by "
                       "moving the shared piece; docs/ARCHITECTURE.md):\n"
                       + "\n".join(describe(ROOT, g, edges) for g in found))


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_lazy_or_type_checking_import_still_closes_a_cycle(tmp_path):
    root = _tree(tmp_path, {
        "fake_smb/__init__.py": "",
        "fake_smb/a.py": "from ibs.fake_smb import b\n",
        "fake_smb/b.py": "def f():\n    from ibs.fake_smb import a\n    return a\n",
        "simulator/__init__.py": "",
        "simulator/hub.py": "from ibs.simulator import gate\n",
        "simulator/gate.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from ibs.simulator.hub import Hub\n"),
        "simulator/free.py": "from ibs.simulator.hub import x\n",
    })
    edges = graph(root)
    assert cycles(edges) == [["fake_smb.a", "fake_smb.b"], ["simulator.gate", "simulator.hub"]]
    assert describe(root, ["fake_smb.a", "fake_smb.b"], edges) == (
        "fake_smb.a <-> fake_smb.b:\n  fake_smb/a.py:1 imports fake_smb.b\n"
        "  fake_smb/b.py:2 imports fake_smb.a")


def test_a_longer_cycle_and_a_relative_import_are_found(tmp_path):
    root = _tree(tmp_path, {
        "engine/__init__.py": "",
        "engine/a.py": "from . import b\n",
        "engine/b.py": "import ibs.engine.c\n",
        "engine/c.py": "from ibs.engine.a import thing\n",
    })
    assert cycles(graph(root)) == [["engine.a", "engine.b", "engine.c"]]


def test_a_package_importing_its_own_submodules_is_no_cycle(tmp_path):
    root = _tree(tmp_path, {
        "engine/__init__.py": "",
        "engine/share/__init__.py": "from ibs.engine.share.local import LocalShare\n",
        "engine/share/local.py": "from ibs.engine.share import base\n",
        "engine/share/base.py": "",
        "reports/__init__.py": "",
        "reports/x.py": "from ibs.reports import y\n",
        "reports/y.py": "from ibs.reports import x\n",
    })
    assert cycles(graph(root)) == [["reports.x", "reports.y"]]
