"""``ibs bench all`` end to end on a tiny size, through the console script."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ibs.fake_smb.samba import SambaServer
from tests.bench.judged import assert_judged

IBS = str(Path(sys.executable).with_name("ibs"))
ARGS = ["--size-mib", "8", "--sim-days", "3", "--fuzz-programs", "3"]

SECTIONS = ("## Ratios", "## Targets of the earlier issues", "## Machine",
            "## Engine, local", "## Engine over SMB", "## Simulator", "## Stateful fuzzing")
TARGETS = {
    "engine": ["backup: engine vs restic", "backup: engine vs cp -r + sync",
               "restore: engine vs cp -r + sync", "peak RSS, backup of 8 MiB",
               "peak RSS, backup of 32 MiB", "peak RSS 4N / N (about the same)"],
    "smb": ["engine backup vs plain smbprotocol (Samba)", "fake_smb write throughput",
            "fake_smb read throughput"],
    "sim": ["hub time / bare SimPy time (same events)", "hub time, 3 days of a 16-node hub"],
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, str]:
    out = tmp_path_factory.mktemp("bench-all")
    # A private TMPDIR (short: Samba puts sockets under it), so what the run leaves behind can
    # be told apart from what other runs on this machine are using at the same time.
    private = Path(tempfile.mkdtemp(prefix="ibt-", dir="/tmp"))
    try:
        proc = subprocess.run([IBS, "bench", "all", *ARGS, "--report-dir", str(out)],
                              capture_output=True, text=True, timeout=150,
                              env=dict(os.environ, TMPDIR=str(private)), check=False)
        left = sorted(os.listdir(private))
    finally:
        shutil.rmtree(private, ignore_errors=True)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    md = (out / "bench-all.md").read_text()
    data = json.loads((out / "bench-all.json").read_text())
    # A benchmark whose target fails says so and exits non-zero.
    assert proc.returncode == (0 if data["passed"] else 1), proc.stderr
    assert ("targets failed" in proc.stderr) == (not data["passed"])
    data["_left_in_tmpdir"] = left
    return md, data, proc.stdout


def _target(data: dict, name: str) -> dict:
    return next(t for t in data["targets"] if t["name"] == name)


def _ratio(data: dict, name: str) -> dict:
    return next(r for r in data["ratios"] if r["name"] == name)


def _contender(data: dict, section: str, name: str) -> dict:
    return next(c for c in data["sections"][section]["contenders"] if c["name"] == name)


def test_all_takes_its_defaults_and_plain_bench_runs_nothing() -> None:
    from ibs.scenarios.bench import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "all"])
    assert (args.bench_kind, args.size_mib, args.sim_days, args.fuzz_programs, args.report_dir) == (
        "all", 1024, 365.0, 20, "bench-report")
    args = parser.parse_args(["bench", "all", *ARGS])
    assert (args.bench_kind, args.size_mib, args.sim_days, args.fuzz_programs) == ("all", 8, 3.0, 3)
    assert parser.parse_args(["bench", "engine"]).bench_kind == "engine"
    # No KIND is no run (tests/bench/test_bench_exit.py: it lists the kinds, exit 2).
    assert parser.parse_args(["bench"]).bench_kind is None


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    for bad in (["--size-mib", "0"], ["--sim-days", "0"], ["--fuzz-programs", "0"]):
        proc = subprocess.run([IBS, "bench", "all", *bad, "--report-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr
    assert not (tmp_path / "bench-all.md").exists()


def test_report_has_every_section_and_the_targets_table(report) -> None:
    md, data, stdout = report
    for heading in SECTIONS:
        assert heading in md, heading
    assert md.index("## Ratios") < md.index("## Targets of the earlier issues") < md.index(
        "## Engine, local")
    assert "targets of the earlier issues" in stdout
    for key in ("nproc", "memory_gib", "cpu", "python", "kernel"):
        assert key in data["machine"]
    assert set(data["sections"]) == {"engine", "smb", "sim"}
    assert data["size_mib"] == 8 and data["sim_days"] == 3 and data["fuzz_programs"] == 3
    for section, names in TARGETS.items():
        for name in names:
            t = _target(data, name)
            assert t["section"] == section
            assert f"| {section} | {name} |" in md
            assert t["passed"] in (True, False, None)
            verdict = {True: "PASS", False: "FAIL", None: "N/A"}[t["passed"]]
            row = next(line for line in md.splitlines() if line.startswith(f"| {section} | {name} |"))
            assert f"| {verdict} |" in row
    assert data["passed"] == all(t["passed"] is not False for t in data["targets"])


def test_engine_figures(report) -> None:
    md, data, _ = report
    for name in ("engine backup", "cp -r + sync", "engine restore + sync"):
        assert _contender(data, "engine", name)["seconds"] > 0
    for name in ("backup: engine vs cp -r + sync", "restore: engine vs cp -r + sync"):
        assert_judged(_target(data, name))
    for tool, contender, missing in (("restic", "restic backup + sync", "restic not installed"),
                                     ("borg", "borg create + sync", "borg not installed")):
        c = _contender(data, "engine", contender)
        r = _ratio(data, f"engine backup vs {contender}")
        if shutil.which(tool):
            assert c["seconds"] > 0 and r["value"] > 0, (c, r)
        else:
            assert c["seconds"] is None and missing in md and r["value"] is None
    if shutil.which("borg"):
        assert "borg create + sync" in md and "borg " in _contender(data, "engine", "borg create + sync")["note"]
    for name in ("peak RSS, backup of 8 MiB", "peak RSS, backup of 32 MiB"):
        assert _target(data, name)["value"] > 0


def test_fake_smb_with_and_without_encryption(report) -> None:
    md, data, _ = report
    for op in ("write", "read"):
        enc = _contender(data, "smb", f"fake_smb {op} (SmbShare, 4 MiB)")
        plain = _contender(data, "smb", f"fake_smb {op} (SmbShare, 4 MiB, unencrypted)")
        assert "encrypted=True" in enc["note"] and enc["mb_s"] > 0
        assert "encrypted=False" in plain["note"] and plain["mb_s"] > 0
        assert _ratio(data, f"fake_smb {op} (SmbShare, 4 MiB) vs fake_smb {op} "
                            "(SmbShare, 4 MiB, unencrypted)")["value"] > 0
        assert_judged(_target(data, f"fake_smb {op} throughput"))
    assert "unencrypted" in md


def test_samba_figures(report) -> None:
    md, data, _ = report
    t = _target(data, "engine backup vs plain smbprotocol (Samba)")
    if not SambaServer.available():
        if os.environ.get("IBS_REQUIRE_SAMBA") == "1":
            pytest.fail("IBS_REQUIRE_SAMBA=1 but smbd/smbpasswd/nss_wrapper are missing or not root")
        assert "Samba not available" in md and t["passed"] is None
        pytest.skip("needs Samba smbd, smbpasswd and libnss-wrapper, as root")
    assert t["value"] is not None, f"the Samba comparison was not measured: {t['detail']}"
    assert t["value"] > 0
    assert_judged(t)
    assert "transferEncrypted=True" in _contender(data, "smb", "engine backup to Samba")["note"]
    assert _contender(data, "smb", "plain smbprotocol copy to Samba")["seconds"] > 0


def test_sim_and_fuzz_figures(report) -> None:
    md, data, _ = report
    sim = data["sections"]["sim"]
    assert sim["days"] == 3 and sim["nodes"] == 16 and sim["sim_days_per_s"] > 0
    assert _target(data, "hub time / bare SimPy time (same events)")["value"] > 0
    fuzz = data["fuzz"]
    assert "error" not in fuzz, fuzz
    assert fuzz["max_examples"] == 3 and fuzz["programs"] >= 1
    assert fuzz["seconds"] > 0 and fuzz["programs_per_s"] > 0
    assert "programs/s" in md


def test_no_temp_dirs_or_servers_left(report) -> None:
    _md, data, _ = report
    assert data["_left_in_tmpdir"] == []
