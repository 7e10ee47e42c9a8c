"""``ibs bench engine`` and ``ibs bench smb`` end to end on a tiny size, through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ibs.fake_smb.samba import SambaServer
from tests.bench.judged import assert_judged

IBS = str(Path(sys.executable).with_name("ibs"))
SIZE = "8"
SMALL_FILES = 200  # the small-files case, tiny so CI stays fast
# Taken at import, before either bench runs, so a bench run elsewhere at the same time is not
# mistaken for a leftover of ours.
_TMP_BEFORE = set(os.listdir("/tmp"))


def _run(kind: str, out: Path, *extra: str) -> tuple[str, dict]:
    proc = subprocess.run([IBS, "bench", kind, "--size-mib", SIZE, *extra, "--report-dir", str(out)],
                          check=False, capture_output=True, text=True, timeout=180)
    # A failed target fails the command (a tiny size can fail a speed target honestly).
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    md = (out / f"bench-{kind}.md").read_text()
    data = json.loads((out / f"bench-{kind}.json").read_text())
    assert data["kind"] == kind and data["size_mib"] == int(SIZE)
    for key in ("nproc", "memory_gib", "cpu", "python", "kernel"):
        assert key in data["machine"]
    assert "Machine" in md and "Method" in md
    failed = [t["name"] for t in data["targets"] if t["passed"] is False]
    assert proc.returncode == (1 if failed else 0), (failed, proc.stderr)
    for name in failed:
        assert name in proc.stderr
    return md, data


@pytest.fixture(scope="module")
def engine_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    return _run("engine", tmp_path_factory.mktemp("bench-engine"),
                "--small-files", str(SMALL_FILES))


@pytest.fixture(scope="module")
def smb_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    return _run("smb", tmp_path_factory.mktemp("bench-smb"))


def _target(data: dict, name: str) -> dict:
    return next(t for t in data["targets"] if t["name"] == name)


def _contender(data: dict, name: str) -> dict:
    return next(c for c in data["contenders"] if c["name"] == name)


def test_engine_report_has_every_contender_and_ratio(engine_report) -> None:
    md, data = engine_report
    for name in ("engine backup", "cp -r + sync", "engine restore + sync"):
        assert name in md
        c = _contender(data, name)
        assert c["seconds"] > 0 and c["mb_s"] > 0
    assert _contender(data, "engine restore + sync")["note"].startswith("identical to the source;")
    for name in ("backup: engine vs cp -r + sync", "restore: engine vs cp -r + sync"):
        t = _target(data, name)
        assert t["value"] > 0
        assert_judged(t)
        assert name in md
    assert "x |" in md  # ratios are printed as e.g. "0.71x"
    assert "PASS" in md or "FAIL" in md
    rss = data["peak_rss_mb"]
    assert 0 < rss["n"] and 0 < rss["4n"]
    assert "peak RSS" in md


def test_engine_report_cpu_and_load_beside_the_times(engine_report) -> None:
    """Interleaved rounds, each with its CPU seconds; the machine's load around them."""
    md, data = engine_report
    names = ("engine backup", "cp -r + sync", "engine restore + sync")
    assert list(data["rounds"]) == list(names)
    for name in names:
        assert len(data["rounds"][name]) == len(data["cpu_seconds"][name]) == 3
        assert all(cpu >= 0 for cpu in data["cpu_seconds"][name])
        assert "CPU median" in _contender(data, name)["note"]
    assert data["cpu_seconds"]["engine backup"][0] > 0  # a real child's figure, not a default
    loads = data["load_average"]
    assert {"start", "small files", "end"} <= set(loads)
    assert all(len(v) == 3 and min(v) >= 0 for v in loads.values())
    assert "load average (1, 5, 15 min)" in md


def test_engine_report_restic(engine_report) -> None:
    md, data = engine_report
    c = _contender(data, "restic backup + sync")
    t = _target(data, "backup: engine vs restic")
    if shutil.which("restic"):
        assert c["seconds"] > 0, c
        assert t["value"] > 0
        assert_judged(t)
    else:
        assert c["seconds"] is None
        assert "restic not installed" in md
        assert t["passed"] is None


def test_engine_report_small_files(engine_report) -> None:
    md, data = engine_report
    n = f"{SMALL_FILES:,}"
    small = data["small_files"]
    assert small["files"] == SMALL_FILES and small["folders"] == 2
    assert 1024 * SMALL_FILES <= small["bytes"] <= 4096 * SMALL_FILES
    for what in ("engine backup", "engine restore + sync"):
        c = _contender(data, f"{what}, {n} small files")
        assert c["seconds"] > 0 and c["nbytes"] == small["bytes"], c
        assert "peak RSS" in c["note"]
    assert "identical to the source" in _contender(
        data, f"engine restore + sync, {n} small files")["note"]
    names = [f"small files backup: engine vs restic ({n} files)",
             f"small files restore: engine vs restic ({n} files)",
             "small files peak RSS, backup: engine / restic",
             "small files peak RSS, restore: engine / restic"]
    bounds = [">= 2x", ">= 1.5x", "<= 1x", "<= 1x"]
    for name, bound in zip(names, bounds, strict=True):
        t = _target(data, name)
        assert name in md and t["target"] == bound
        if not shutil.which("restic"):
            assert t["passed"] is None
            continue
        assert_judged(t)
    if shutil.which("restic"):
        peaks = small["peak_rss_mb"]
        backup = _target(data, names[2])
        assert backup["value"] == pytest.approx(
            peaks[f"engine backup, {n} small files"]
            / peaks[f"restic backup + sync, {n} small files"])
        assert "identical to the source" in _contender(
            data, f"restic restore + sync, {n} small files")["note"]


def test_smb_report_fake_smb(smb_report) -> None:
    md, data = smb_report
    for name in ("fake_smb write throughput", "fake_smb read throughput"):
        t = _target(data, name)
        assert t["value"] > 0
        assert_judged(t)
        assert name in md
    assert "encrypted=True" in _contender(data, "fake_smb write (SmbShare, 4 MiB)")["note"]


def test_smb_report_samba(smb_report) -> None:
    md, data = smb_report
    name = "engine backup vs plain smbprotocol (Samba)"
    if not SambaServer.available():
        if os.environ.get("IBS_REQUIRE_SAMBA") == "1":
            pytest.fail("IBS_REQUIRE_SAMBA=1 but smbd/smbpasswd/nss_wrapper are missing or not root")
        assert "Samba not available" in md
        pytest.skip("needs Samba smbd, smbpasswd and libnss-wrapper, as root")
    for contender in ("engine backup to Samba", "plain smbprotocol copy to Samba"):
        assert contender in md
        assert _contender(data, contender)["seconds"] > 0
    assert "transferEncrypted=True" in _contender(data, "engine backup to Samba")["note"]
    t = _target(data, name)
    assert t["value"] > 0
    assert_judged(t)
    assert name in md


def test_no_temp_dirs_or_servers_left(engine_report, smb_report) -> None:
    leftovers = [p for p in set(os.listdir("/tmp")) - _TMP_BEFORE
                 if p.startswith(("ibs-bench-", "ibs-samba-"))]
    assert not leftovers, leftovers
