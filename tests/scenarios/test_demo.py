"""`ibs demo`: the engine end to end on sample role data, locally and over SMB to fake_smb."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

IBS = str(Path(sys.executable).parent / "ibs")


@pytest.mark.parametrize("over", ["local", "smb"])
def test_demo_backs_up_verifies_restores_and_refuses_tampering(tmp_path, over):
    r = subprocess.run([IBS, "demo", "--over", over, "--report-dir", str(tmp_path / "rep")],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["passed"] is True
    assert [c["check"] for c in report["checks"]] == [
        "backup", "verify", "restore", "single-role restore", "tampered backup refused"]
    assert report["backup"]["transferEncrypted"] is (True if over == "smb" else None)


def test_demo_reports_into_its_own_folder_not_the_suites(tmp_path):
    r = subprocess.run([IBS, "demo", "--over", "local"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((tmp_path / "ibs-demo" / "report.json").read_text())["passed"] is True
    assert not (tmp_path / "ibs-report").exists()
    old = subprocess.run([IBS, "demo", "--over", "local", "--report", "old"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False)
    assert old.returncode == 0 and "ibs: --report is now --report-dir" in old.stderr
    assert (tmp_path / "old" / "report.md").is_file()
