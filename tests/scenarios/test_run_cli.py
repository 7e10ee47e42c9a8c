"""`ibs run` as CI and engineers use it: selection, parallel jobs, reports, exit codes, replay."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ibs.scenarios.cli import LIBRARY

IBS = str(Path(sys.executable).parent / "ibs")

PASSING = """\
[scenario]
name = "{name}"
tags = [{tags}]
hub = 4
days = 1.02
seed = {seed}

[expect]
backups = {{ Succeeded = 2 }}
no_secrets_leaked = true
"""

FAILING = """\
[scenario]
name = "expects too much"
tags = ["broken"]
hub = "asdk"
days = 0.6
seed = 5

[expect]
backups = { Succeeded = 99 }
"""


def ibs(*args: str, cwd: Path):
    return subprocess.run([IBS, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          check=False)


@pytest.fixture
def suite(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "a.toml").write_text(PASSING.format(name="alpha firewall", tags='"firewall"', seed=1))
    (folder / "b.toml").write_text(PASSING.format(name="beta smb", tags='"smb"', seed=2))
    (folder / "c.toml").write_text(PASSING.format(name="gamma smb dns", tags='"smb", "dns"', seed=3))
    return folder


def test_a_passing_suite_exits_0_and_writes_every_report(suite, tmp_path):
    r = ibs("run", str(suite), "--report-dir", "rep", "--junit", "out/junit.xml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed, 0 failed" in r.stdout
    for name in ("report.html", "report.md", "report.json", "junit.xml"):
        assert (tmp_path / "rep" / name).stat().st_size > 0
    assert ET.parse(tmp_path / "out" / "junit.xml").getroot().iter("testcase")
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["counts"] == {"passed": 3, "failed": 0}


def test_a_failing_scenario_exits_1_and_prints_its_replay_command(suite, tmp_path):
    (suite / "z.toml").write_text(FAILING)
    r = ibs("run", str(suite), "--report-dir", "rep", cwd=tmp_path)
    assert r.returncode == 1
    assert "FAILED expects too much (seed 5, sim)" in r.stdout
    assert f"replay: ibs run {suite / 'z.toml'} --seed 5 --fidelity sim" in r.stdout
    assert "backups Succeeded: expected 99, got 1" in r.stdout


def test_keyword_and_tag_select_scenarios(suite, tmp_path):
    listed = ibs("run", str(suite), "--list", "-k", "smb and not dns", cwd=tmp_path).stdout
    assert "beta smb" in listed and "gamma" not in listed and "alpha" not in listed
    listed = ibs("run", str(suite), "--list", "--tag", "dns", "--tag", "firewall", cwd=tmp_path).stdout
    assert "alpha" in listed and "gamma" in listed and "beta" not in listed
    r = ibs("run", str(suite), "-k", "nothing-matches", cwd=tmp_path)
    assert r.returncode == 2 and "no scenario matches" in r.stderr


def test_parallel_jobs_give_the_same_results(suite, tmp_path):
    one = ibs("run", str(suite), "--report-dir", "one", cwd=tmp_path)
    two = ibs("run", str(suite), "--report-dir", "two", "--jobs", "2", cwd=tmp_path)
    assert one.returncode == two.returncode == 0

    def essence(folder):
        data = json.loads((tmp_path / folder / "report.json").read_text())
        return [(s["name"], s["passed"], s["checks"], s["events"]) for s in data["scenarios"]]

    assert essence("one") == essence("two")


def test_a_bad_file_stops_everything_with_file_line_and_key(suite, tmp_path):
    (suite / "bad.toml").write_text(PASSING.format(name="x", tags="", seed=1).replace("hub = 4", "hub = 2"))
    r = ibs("run", str(suite), "--report-dir", "rep", cwd=tmp_path)
    assert r.returncode == 2
    assert f"{suite / 'bad.toml'}:4: scenario.hub:" in r.stderr
    assert not (tmp_path / "rep").exists()  # nothing ran


def test_seed_override_changes_the_run_and_replays_it(suite, tmp_path):
    def events(seed):
        ibs("run", str(suite / "a.toml"), "--seed", str(seed), "--report-dir", f"s{seed}", cwd=tmp_path)
        return json.loads((tmp_path / f"s{seed}" / "report.json").read_text())["scenarios"][0]["events"]

    assert events(7) == events(7)
    assert events(7) != events(8)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_run_twice_writes_byte_identical_reports(tmp_path):
    # Two short built-in scenarios: a recovery and a server fault, so both charts have content.
    short = [str(LIBRARY / "recovery_version_gap.toml"), str(LIBRARY / "smb_no_encryption.toml")]
    for name in ("one", "two"):
        r = ibs("run", *short, "--fidelity", "sim", "--report-dir", name,
                "--junit", f"{name}/ci/junit.xml", cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert sorted(one) == sorted(two) == ["ci/junit.xml", "junit.xml", "report.html", "report.json",
                                          "report.md"]
    for name in one:
        assert one[name] == two[name], f"{name} differs between two runs of the same seed"
    assert b'"seconds"' not in one["report.json"]
    assert b" time=" not in one["junit.xml"] and b" s wall" not in one["report.html"]


def test_timings_put_wall_seconds_in_the_reports(suite, tmp_path):
    r = ibs("run", str(suite / "a.toml"), "--timings", "--report-dir", "rep", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    seconds = json.loads((tmp_path / "rep" / "report.json").read_text())["scenarios"][0]["seconds"]
    assert seconds > 0
    case = ET.parse(tmp_path / "rep" / "junit.xml").getroot().find("testcase")
    assert float(case.get("time")) == pytest.approx(seconds)
    assert f"· {seconds} s wall" in (tmp_path / "rep" / "report.html").read_text()
