"""`ibs run --check-determinism`: each selected scenario twice; exit 1 naming the first difference."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ibs.engine.cli import main
from ibs.scenarios.cli import LIBRARY
from ibs.simulator.events import EventLog

IBS = str(Path(sys.executable).parent / "ibs")
SCENARIO = str(LIBRARY / "scheduling_on_demand.toml")


def test_the_same_scenario_twice_exits_0(tmp_path):
    done = subprocess.run([IBS, "run", SCENARIO, "--fidelity", "sim", "--check-determinism",
                           "--report", str(tmp_path / "r")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("same ") and "1 of 1 scenarios ran the same twice" in done.stdout
    assert not (tmp_path / "r").exists(), "the check writes no reports"


def test_a_difference_exits_1_with_the_event_and_the_replay(monkeypatch, capsys):
    real_add = EventLog.add

    def leaky(self, now, event, **fields):
        real_add(self, now, event, wall=time.perf_counter_ns(), **fields)

    monkeypatch.setattr(EventLog, "add", leaky)
    assert main(["run", SCENARIO, "--fidelity", "sim", "--check-determinism"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT" in out and "event 0 differs" in out and "run 1:" in out and "run 2:" in out
    assert f"replay: ibs run {SCENARIO} --seed" in out and "0 of 1 scenarios ran the same twice" in out
