"""``ibs run`` on Dask: a local cluster, an external scheduler, a worker lost mid-run; every
report byte-identical to a serial run of the same scenarios."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.scenarios.loader import load
from ibs.scenarios.runner import run_scenario
from ibs.scenarios.tasks import run_scenario_text
from ibs.simulator.cluster import Progress, Tally

from .conftest import IBS, LIBRARY, free_port, ibs

REPORTS = ("report.json", "report.md", "junit.xml", "report.html")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The built-in library at sim fidelity, run in one process: what every cluster must match."""
    where = tmp_path_factory.mktemp("serial")
    r = ibs("run", str(LIBRARY), "--fidelity", "sim", "--report-dir", "rep",
            "--junit", "rep/junit.xml", cwd=where)
    assert r.returncode == 0, r.stdout + r.stderr
    return where / "rep"


def same_reports(serial: Path, other: Path) -> None:
    for name in REPORTS:
        assert (other / name).read_bytes() == (serial / name).read_bytes(), name


def test_every_builtin_scenario_on_a_local_cluster_gives_the_serial_reports(serial, tmp_path):
    r = ibs("run", str(LIBRARY), "--fidelity", "sim", "--jobs", "2", "--report-dir", "rep",
            "--junit", "rep/junit.xml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "21 passed, 0 failed" in r.stdout
    same_reports(serial, tmp_path / "rep")
    # Off a terminal the cluster's progress comes as lines, the last one complete.
    assert "scenarios: 0 done, 0 failed, 21 running" in r.stderr
    assert "scenarios: 21 done, 0 failed, 0 running" in r.stderr
    suite = [load(str(f)) for f in sorted(LIBRARY.glob("*.toml"))]
    starts_before_ends(r.stderr, [s.name for s in suite])
    # The dearest go first (here the two 30-day scenarios, one to each worker): a long scenario
    # started last would keep one worker busy while the other idles.
    longest = {s.name for s in sorted(suite, key=lambda s: -s.days)[:2]}
    first = [line for line in r.stderr.splitlines() if line.startswith("start ")][:2]
    assert {line.removeprefix("start ").split(" (sim, ")[0] for line in first} == longest, first


def starts_before_ends(stderr: str, names: list[str]) -> None:
    """Off a terminal each scenario has its start line, in the serial path's words, as it
    starts on its worker, before its end line (docs/SCENARIOS.md)."""
    lines = stderr.splitlines()
    for name in names:
        starts = [i for i, line in enumerate(lines) if line.startswith(f"start {name} (sim, seed ")]
        ends = [i for i, line in enumerate(lines)
                if line.startswith((f"pass  {name} (sim, ", f"FAIL  {name} (sim, "))]
        assert len(starts) == 1 and len(ends) == 1, (name, stderr)
        assert starts[0] < ends[0], (name, stderr)


@pytest.mark.parametrize("command", [
    ("run", str(LIBRARY), "--fidelity", "sim", "--report-dir", "rep"),
    ("fuzz", "--batches", "2", "--db", "rep"),
    ("sizing", "--sweep", "--days", "5", "--out", "rep"),
], ids=["run", "fuzz", "sweep"])
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, command):
    address = f"tcp://127.0.0.1:{free_port()}"  # closed again: nothing listens there
    r = ibs(*command, "--cluster", address, cwd=tmp_path, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "dask scheduler" in lines[0], r.stderr
    assert not (tmp_path / "rep").exists()


def test_a_task_carries_the_scenario_text_and_never_opens_its_path():
    path = LIBRARY / min(p.name for p in LIBRARY.glob("*.toml"))
    elsewhere = "/on/another/machine/" + path.name
    shipped = run_scenario_text(path.read_text(), elsewhere, "sim", 7)
    local = asdict(run_scenario(load(path).with_overrides(fidelity="sim", seed=7)))
    for result in (shipped, local):
        del result["seconds"]
    assert shipped.pop("path") == elsewhere
    local.pop("path")
    assert shipped == local


@given(total=st.integers(1, 500), failed_every=st.integers(0, 7))
def test_progress_off_a_terminal_prints_the_start_the_end_and_a_few_lines_between(
        total, failed_every):
    from rich.console import Console

    out = io.StringIO()
    progress = Progress("tasks", Console(file=out, force_terminal=False, width=200))
    tally = Tally(total)
    with progress:
        progress(tally)
        for i in range(total):
            if failed_every and i % failed_every == 0:
                tally.failed += 1
            else:
                tally.done += 1
            progress(tally)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"tasks: 0 done, 0 failed, {total} running"
    assert lines[-1] == f"tasks: {tally.done} done, {tally.failed} failed, 0 running"
    assert len(lines) <= 12


def test_an_external_scheduler_gives_the_serial_reports(external, serial, tmp_path):
    r = ibs("run", str(LIBRARY), "--fidelity", "sim", "--cluster", external.address,
            "--report-dir", "rep", "--junit", "rep/junit.xml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    same_reports(serial, tmp_path / "rep")
    assert all(w.poll() is None for w in external.workers)  # the run leaves them running


def test_a_worker_killed_mid_run_loses_no_result(external, serial, tmp_path):
    run = subprocess.Popen([IBS, "run", str(LIBRARY), "--fidelity", "sim", "--cluster",
                            external.address, "--report-dir", "rep", "--junit", "rep/junit.xml"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        seen = []
        for line in run.stderr:  # the first result: the workers are busy with the rest
            seen.append(line)
            if line.startswith(("pass ", "FAIL ")):
                break
        victim = external.workers[0]
        assert run.poll() is None, "".join(seen)
        victim.kill()
        victim.wait(timeout=30)
        out, err = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, out + "".join(seen) + err
    assert "21 passed, 0 failed" in out
    same_reports(serial, tmp_path / "rep")


FAILING = """\
[scenario]
name = "expects too much"
hub = "asdk"
days = 0.6
seed = 5

[expect]
backups = { Succeeded = 99 }
"""


def test_a_failing_scenario_on_the_cluster_is_counted_and_prints_its_replay_line(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "z.toml").write_text(FAILING)
    shutil.copy(min(LIBRARY.glob("*.toml")), suite)
    r = ibs("run", str(suite), "--jobs", "2", "--report-dir", "rep", cwd=tmp_path)
    assert r.returncode == 1
    assert "scenarios: 1 done, 1 failed, 0 running" in r.stderr
    assert f"replay: ibs run {suite / 'z.toml'} --seed 5 --fidelity sim" in r.stdout
    starts_before_ends(r.stderr, [load(str(f)).name for f in sorted(suite.glob("*.toml"))])
