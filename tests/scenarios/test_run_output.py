"""`ibs run` in a pipe or a log (issue 17, point 11): a line as each scenario starts and ends,
a summary within 100 columns, and the report folder under its one name, --report-dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

IBS = str(Path(sys.executable).parent / "ibs")

SCENARIO = """\
[scenario]
name = "{name}"
tags = [{tags}]
hub = "asdk"
days = 0.6
seed = {seed}

[expect]
backups = {{ Succeeded = {succeeded} }}
"""
LONG_NAME = ("a scenario whose name is long enough to need more than one line in a summary "
             "table of one hundred columns")
TAGS = ", ".join(f'"tag-number-{i}"' for i in range(8))


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "a.toml").write_text(SCENARIO.format(name="alpha", tags='"x"', seed=1, succeeded=1))
    (folder / "b.toml").write_text(SCENARIO.format(name=LONG_NAME, tags=TAGS, seed=2, succeeded=99))
    return folder


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IBS, "run", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, check=False)


def test_a_pipe_gets_a_line_as_each_scenario_starts_and_ends(suite: Path, tmp_path: Path) -> None:
    r = _run(tmp_path, str(suite), "--fidelity", "sim", "--report-dir", "rep")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("start ")]
    ends = [i for i, line in enumerate(lines) if line.startswith(("pass ", "FAIL "))]
    assert len(starts) == len(ends) == 2, r.stderr
    # Each scenario is announced before it runs, and ends before the next starts.
    assert starts[0] < ends[0] < starts[1] < ends[1], r.stderr
    assert lines[starts[0]] == "start alpha (sim, seed 1)"
    assert lines[ends[0]].startswith("pass  alpha (sim, ")
    assert lines[starts[1]] == f"start {LONG_NAME} (sim, seed 2)"
    assert lines[ends[1]].startswith(f"FAIL  {LONG_NAME} (sim, ")


def test_the_summary_fits_100_columns_in_a_pipe(suite: Path, tmp_path: Path) -> None:
    r = _run(tmp_path, str(suite), "--fidelity", "sim", "--report-dir", "rep")
    assert "scenario suite" in r.stdout and "1 passed, 1 failed" in r.stdout
    # The replay command stays on one line, whole, to be copied.
    wide = [line for line in r.stdout.splitlines()
            if len(line) > 100 and not line.startswith("  replay: ")]
    assert not wide, "\n".join(wide)
    assert any(line.startswith("  replay: ibs run ") for line in r.stdout.splitlines())


def test_report_is_the_old_name_of_report_dir(suite: Path, tmp_path: Path) -> None:
    r = _run(tmp_path, str(suite / "a.toml"), "--fidelity", "sim", "--report", "old")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ibs: --report is now --report-dir" in r.stderr.splitlines()
    assert (tmp_path / "old" / "report.json").is_file()
    assert "--report " not in _run(tmp_path, "--help").stdout
    assert "--report-dir DIR" in _run(tmp_path, "--help").stdout


def test_quiet_keeps_only_the_failures_their_replay_lines_and_the_count(
        suite: Path, tmp_path: Path) -> None:
    loud = _run(tmp_path, str(suite), "--fidelity", "sim", "--report-dir", "rep")
    quiet = _run(tmp_path, str(suite), "--fidelity", "sim", "--report-dir", "rep", "--quiet")
    assert loud.returncode == quiet.returncode == 1, quiet.stdout + quiet.stderr
    assert "start alpha (sim, seed 1)" in loud.stderr and "scenario suite" in loud.stdout
    # Nothing per scenario, no progress and no table; what a person must act on stays.
    assert quiet.stderr == ""
    assert "scenario suite" not in quiet.stdout and "alpha" not in quiet.stdout
    assert f"FAILED {LONG_NAME} (seed 2, sim)" in " ".join(quiet.stdout.split())
    assert "  backups Succeeded: expected 99, got 1" in quiet.stdout
    assert f"  replay: ibs run {suite / 'b.toml'} --seed 2 --fidelity sim" in quiet.stdout
    assert quiet.stdout.rstrip().endswith("1 passed, 1 failed; reports in rep/ (report.html, "
                                          "report.md, report.json, junit.xml)")


def test_verbose_shows_each_check_under_its_scenarios_end_line(suite: Path,
                                                               tmp_path: Path) -> None:
    r = _run(tmp_path, str(suite), "--fidelity", "sim", "--report-dir", "rep", "-v")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    alpha = next(i for i, line in enumerate(lines) if line.startswith("pass  alpha (sim, "))
    assert lines[alpha + 1] == "  ok    backups Succeeded: expected 1, got 1"
    long = next(i for i, line in enumerate(lines) if line.startswith(f"FAIL  {LONG_NAME}"))
    assert lines[long + 1] == "  FAIL  backups Succeeded: expected 99, got 1"
    plain = _run(tmp_path, str(suite), "--fidelity", "sim", "--report-dir", "rep")
    assert "backups Succeeded" not in plain.stderr


def test_quiet_and_verbose_exclude_each_other(tmp_path: Path) -> None:
    r = _run(tmp_path, "--list", "-q", "-v")
    assert r.returncode == 2
    assert r.stderr.strip().endswith("argument -v/--verbose: not allowed with argument "
                                     "-q/--quiet (see 'ibs run --help')")
