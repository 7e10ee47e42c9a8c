"""``ibs bench fuzz``: the same seeds in one process and on a local cluster, the target judged on
the cluster's rate (the machine's cores), the one-process rate beside it (speed is not asserted)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ibs.scenarios.bench.fuzz_bench import TARGET, run_fuzz_bench

IBS = str(Path(sys.executable).with_name("ibs"))


@pytest.mark.slow
def test_the_cluster_runs_the_same_programs_and_carries_the_target():
    report = run_fuzz_bench(2, 5, Console(file=io.StringIO()), workers=2)
    (target,) = report.targets
    extra = report.extra
    assert target.name == "stateful programs per second (sim), 2 workers"
    assert extra["same_results"] is True and extra["programs"] == 20
    assert target.value == pytest.approx(20 / extra["cluster_wall_s"])
    assert target.passed == (target.value >= TARGET)
    # The one-process figures stay in the report, beside the machine's.
    assert extra["programs_per_s"] == pytest.approx(20 / extra["wall_s"])
    assert "one process: 20 programs of 5 steps" in target.detail
    assert extra["cluster_cpu_s"] > 0


def test_without_workers_the_target_is_the_one_process_rate():
    report = run_fuzz_bench(1, 3, Console(file=io.StringIO()), workers=0)
    (target,) = report.targets
    assert target.name == "stateful programs per second (sim), one process"
    assert target.value == pytest.approx(report.extra["programs_per_s"])
    assert "cluster_wall_s" not in report.extra


def test_a_negative_worker_count_is_one_line_and_exit_2():
    proc = subprocess.run([IBS, "bench", "fuzz", "--workers", "-1"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--workers 0 or more" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_cluster_that_finds_something_else_fails_the_target(monkeypatch):
    from ibs.simulator import cluster

    real = cluster.run_tasks

    def drifting(*args, **kwargs):
        results = real(*args, **kwargs)
        results[-1] = {**results[-1], "reach": {}}  # as a worker whose programs drifted
        return results

    monkeypatch.setattr(cluster, "run_tasks", drifting)
    report = run_fuzz_bench(1, 5, Console(file=io.StringIO()), workers=2)
    (target,) = report.targets
    assert target.passed is False and "RESULTS DIFFER" in target.detail
    assert report.extra["same_results"] is False
