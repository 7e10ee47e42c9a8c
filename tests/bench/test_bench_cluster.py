"""``ibs bench cluster`` through the CLI on a few scenarios: both targets measured, the cluster's
results equal to serial, and the exit code follows the verdicts (speed is not asserted here)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ibs.scenarios.cli import LIBRARY

IBS = str(Path(sys.executable).with_name("ibs"))


@pytest.mark.slow
def test_the_cluster_bench_measures_both_targets_and_checks_the_results(tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    for p in sorted(LIBRARY.glob("*.toml"))[:4]:
        shutil.copy(p, library)
    proc = subprocess.run([IBS, "bench", "cluster", "--library", str(library), "--report-dir",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                          check=False)
    data = json.loads((tmp_path / "out" / "bench-cluster.json").read_text())
    assert data["sameResults"] is True and data["scenarios"] == 4 and data["workers"] == 2
    names = [t["name"] for t in data["targets"]]
    assert names == ["suite speed-up, 2 workers vs serial", "scheduling overhead per empty task"]
    assert all(t["value"] and t["value"] > 0 for t in data["targets"])
    # The speed-up is the median of the rounds' own serial/cluster ratios (a pair taken
    # together), not of two medians taken apart.
    from statistics import median

    rounds = [s / c for s, c in zip(data["serialSeconds"], data["clusterSeconds"], strict=True)]
    assert len(rounds) == data["rounds"] and data["roundSpeedups"] == pytest.approx(rounds)
    assert data["targets"][0]["value"] == pytest.approx(median(rounds))
    failed = [t for t in data["targets"] if t["passed"] is False]
    assert proc.returncode == (1 if failed else 0), proc.stderr
    assert data["serialCpuSeconds"] > 0 and data["clusterCpuSeconds"] > 0
    # The load-independent figure: serial CPU over the busiest worker's, one of the workers'.
    assert 0 < data["busiestWorkerCpuSeconds"] <= data["clusterCpuSeconds"]
    assert data["cpuBoundSpeedup"] == data["serialCpuSeconds"] / data["busiestWorkerCpuSeconds"]
    assert "ibs bench cluster" in (tmp_path / "out" / "bench-cluster.md").read_text()


def test_no_scenarios_is_exit_2(tmp_path):
    proc = subprocess.run([IBS, "bench", "cluster", "--library", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "must hold scenarios" in proc.stderr
