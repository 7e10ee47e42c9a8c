"""``ibs bench scenario``: a file of many events, its loading against tomllib's parse and its
run's peak memory. Speed is not asserted: the targets' verdicts must follow from their figures,
and the file must be one the loader takes whole."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.scenarios.bench.scenario_bench import _TURN, many_events
from ibs.scenarios.loader import loads
from tests.bench.judged import assert_judged

IBS = str(Path(sys.executable).with_name("ibs"))


@pytest.fixture(scope="module")
def scenario_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("bench-scenario")
    proc = subprocess.run([IBS, "bench", "scenario", "--events", "40", "--days", "2",
                           "--report-dir", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return (out / "bench-scenario.md").read_text(), json.loads(
        (out / "bench-scenario.json").read_text())


def test_both_targets_are_judged_on_their_own_figures(scenario_report) -> None:
    md, data = scenario_report
    load, memory = data["targets"]
    assert load["name"] == "load / tomllib parse, 40 events" and load["target"] == "<= 5x"
    assert memory["name"] == "peak RSS of ibs run, 40 events"
    assert memory["target"] == "<= 300 MB" and memory["unit"] == "MB"
    for target in (load, memory):
        assert_judged(target)
    # The ratio is the loader's time over tomllib's, round by round in this run.
    ratios = [b / a for a, b in zip(data["parse_rounds"], data["load_rounds"], strict=True)]
    assert len(ratios) == 5
    assert load["value"] == pytest.approx(statistics.median(ratios)) == data["load_ratio"]
    assert data["load_seconds"] > 0 and data["parse_seconds"] > 0
    assert memory["value"] == data["run_peak_mb"]
    assert data["passed"] is all(t["passed"] for t in data["targets"])
    assert md.startswith("# ibs bench scenario (40 events, 2 days)")


def test_the_run_with_events_stands_beside_the_run_without(scenario_report) -> None:
    _md, data = scenario_report
    names = [c["name"] for c in data["contenders"]]
    assert names == ["tomllib.loads (parse only)", "ibs loader (parse and check)",
                     "ibs run, without events", "ibs run, 40 events"]
    # A Python process that imported the engine and ran a hub is some tens of MB at least:
    # a figure of a few MB would be GNU time's own, or the wrong process's.
    assert data["run_peak_mb"] > 30 and data["bare_run_peak_mb"] > 30
    assert data["run_cpu_seconds"] > 0 and data["bare_run_cpu_seconds"] > 0
    assert f"{data['bare_run_peak_mb']:.0f} MB for the same 2 days without events" in \
        data["targets"][1]["detail"]


@settings(max_examples=25, deadline=None)
@given(events=st.integers(1, 400), days=st.sampled_from([0.5, 1.0, 2.02, 30.0]))
def test_the_loader_takes_every_event_of_the_file(events: int, days: float) -> None:
    scenario = loads(many_events(events, days), "many.toml")
    assert len(scenario.events) == events
    times = [e.at_seconds for e in scenario.events]
    assert times == sorted(times) and len(set(times)) == events  # evenly spaced, none together
    assert 0 < times[0] and times[-1] < days * 86400
    kinds = {e.action for e in scenario.events}
    assert kinds == {do for do, _ in _TURN[:events]}


def test_the_same_arguments_make_the_same_file() -> None:
    assert many_events(500, 10) == many_events(500, 10)
    assert many_events(500, 10) != many_events(501, 10)


def test_events_that_do_not_fit_a_second_apart_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="do not fit"):
        many_events(100, 100 / 86400)
    proc = subprocess.run([IBS, "bench", "scenario", "--events", "90000", "--days", "1",
                           "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "90000 events one second apart need more than --days 1" in proc.stderr
    proc = subprocess.run([IBS, "bench", "scenario", "--events", "0"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--events must be at least 1" in proc.stderr
    assert not list(tmp_path.iterdir())  # refused before measuring: no report
