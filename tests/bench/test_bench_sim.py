"""``ibs bench sim`` end to end on a few simulated days, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

IBS = str(Path(sys.executable).with_name("ibs"))
DAYS = "5"

HUB = "hub (sim fidelity)"
BARE = "bare SimPy (timeouts only)"
RATIO = "hub time / bare SimPy time (same events)"


@pytest.fixture(scope="module")
def sim_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("bench-sim")
    proc = subprocess.run([IBS, "bench", "sim", "--days", DAYS, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout or "FAIL" in proc.stdout
    md = (out / "bench-sim.md").read_text()
    data = json.loads((out / "bench-sim.json").read_text())
    return md, data


def _contender(data: dict, name: str) -> dict:
    return next(c for c in data["contenders"] if c["name"] == name)


def _target(data: dict, name: str) -> dict:
    return next(t for t in data["targets"] if t["name"] == name)


def test_report_has_both_contenders_the_event_count_and_a_ratio(sim_report) -> None:
    md, data = sim_report
    assert data["kind"] == "sim" and data["days"] == float(DAYS) and data["nodes"] == 16
    for key in ("nproc", "memory_gib", "cpu", "python", "kernel"):
        assert key in data["machine"]
    events = data["events"]
    assert events > 0
    # The bare model processes exactly as many events as the hub did, counted two ways.
    assert data["exact_event_count"] == events
    for name in (HUB, BARE):
        c = _contender(data, name)
        assert c["events"] == events
        assert c["seconds"] > 0 and c["events_per_s"] > 0
        assert name in md
    assert _contender(data, HUB)["sim_days_per_s"] > 0
    assert len(data["rounds"]["hub"]) == 3 and len(data["rounds"]["bare"]) == 3
    ratio = _target(data, RATIO)
    assert ratio["value"] > 0 and ratio["passed"] in (True, False)
    assert ratio["target"] == "<= 5x"
    absolute = _target(data, "hub time, 5 days of a 16-node hub")
    assert absolute["value"] > 0 and absolute["passed"] in (True, False)
    assert f"| {RATIO} | " in md and "x |" in md
    assert "PASS" in md or "FAIL" in md
    assert "Machine" in md and "Method" in md and str(events) in md


def test_bad_nodes_is_a_user_error() -> None:
    proc = subprocess.run([IBS, "bench", "sim", "--nodes", "3", "--days", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "4 to 16 nodes" in proc.stderr and "Traceback" not in proc.stderr
