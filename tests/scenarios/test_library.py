"""The built-in scenario library: every file loads, every required topic is covered, and every
scenario passes at sim fidelity (the CLI runs it at wire fidelity; see `ibs run`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ibs.scenarios.loader import load
from ibs.scenarios.runner import run_scenario

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"
FILES = sorted(LIBRARY.glob("*.toml"))
REQUIRED_TAGS = {"scheduling", "firewall", "port445", "smb", "sizing", "certificate",
                 "recovery", "security"}


def test_the_library_is_there():
    assert len(FILES) >= 18, [f.name for f in FILES]


def test_every_file_loads_with_a_name_a_description_and_tags():
    for path in FILES:
        scenario = load(path)
        assert scenario.name and scenario.description.strip() and scenario.tags, path.name


def test_names_are_unique():
    names = [load(p).name for p in FILES]
    assert len(names) == len(set(names))


def test_every_required_tag_appears():
    tags = {t for p in FILES for t in load(p).tags}
    assert REQUIRED_TAGS <= tags, f"missing tags: {sorted(REQUIRED_TAGS - tags)}"


def test_every_scenario_expects_something():
    for path in FILES:
        e = load(path).expect
        assert e.backups or e.per_backup or e.recoveries, f"{path.name} checks no outcome"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_passes_at_sim_fidelity(path):
    scenario = load(path).with_overrides(fidelity="sim")
    result = run_scenario(scenario)
    failed = [f"{c['name']}: {c['detail']}" for c in result.checks if not c["passed"]]
    assert result.passed, f"{path.name} failed (replay: {result.replay}):\n  " + "\n  ".join(
        failed or [result.error or "no checks ran"])
    assert result.checks, f"{path.name}: no checks ran"
