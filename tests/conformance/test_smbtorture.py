"""`ibs fake-smb conformance` end to end on a few fast smbtorture tests, against real Samba.

The subset covers each kind of row: both pass, both skip, both fail (a stream name: neither
share has streams), fake_smb passes where Samba does not (a multichannel bind Samba 4.17
answers USER_SESSION_DELETED where the test expects it to succeed), a gap the shipped allowlist
names (a durable handle reconnected after its connection dropped), and a multichannel session bind both pass.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from ibs.engine.cli import main
from tests.smb.conftest import require_samba

pytestmark = pytest.mark.samba

SUBSET = {  # test: (Samba, fake_smb)
    "smb2.rw.rw1": ("pass", "pass"),
    "smb2.rename.simple": ("pass", "pass"),
    "smb2.lock.rw-none": ("skip", "skip"),
    "smb2.session.bind_negative_smb3signCtoHd": ("fail", "pass"),
    "smb2.compound.compound-padding": ("fail", "fail"),
    "smb2.durable-open.reopen2": ("pass", "fail"),
    "smb2.session.bind1": ("pass", "pass"),
}


@pytest.fixture(autouse=True)
def _smbtorture() -> None:
    require_samba()
    if shutil.which("smbtorture") or os.path.exists("/usr/bin/smbtorture"):
        return
    if os.environ.get("IBS_REQUIRE_SAMBA") == "1":
        pytest.fail("IBS_REQUIRE_SAMBA=1 but smbtorture is missing (Debian package samba-testsuite)")
    pytest.skip("needs smbtorture (Debian package samba-testsuite)")


def _run(out, *extra: str) -> int:
    return main(["fake-smb", "conformance", "--report-dir", str(out), "--timeout", "30", *extra])


def test_the_subset_side_by_side(tmp_path, capsys):
    args = [a for test in SUBSET for a in ("--test", test)]
    assert _run(tmp_path, *args) == 0
    data = json.loads((tmp_path / "conformance.json").read_text())
    assert {r["test"]: (r["samba"]["status"], r["fake_smb"]["status"])
            for r in data["tests"]} == SUBSET
    assert data["totals"] == {
        "tests": 7, "samba_passes": 4, "fake_smb_passes": 4,
        "fake_smb_fails_where_samba_passes": 1, "allowlisted": 1, "not_allowlisted": 0,
        "fake_smb_passes_where_samba_does_not": 1,
    }
    assert data["unexpected"] == [] and data["stale_allowlist"] == []
    md = (tmp_path / "conformance.md").read_text()
    assert "| fake_smb fails where Samba passes | 1 |" in md
    assert "| `smb2.durable-open.reopen2` | pass | fail | allowlisted: " in md
    assert "| `smb2.rw.rw1` | pass | pass |  |" in md
    assert (tmp_path / "logs" / "samba" / "smb2.rw.rw1.txt").read_text().count("success: rw1") == 1
    assert "7 tests: Samba passes 4, fake_smb passes 4" in capsys.readouterr().out


def test_a_gap_the_allowlist_does_not_name_fails_the_command(tmp_path, capsys):
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text('["smb2.rw"]\n"smb2.rw.rw1" = "was a gap once"\n')
    code = _run(tmp_path / "out", "--allowlist", str(allowlist),
                "--test", "smb2.durable-open.reopen2", "--test", "smb2.rw.rw1")
    assert code == 1
    out, err = capsys.readouterr()
    assert err == "fake_smb fails where Samba passes, not allowlisted: smb2.durable-open.reopen2\n"
    assert "no longer gaps, remove from the allowlist: smb2.rw.rw1" in out
    md = (tmp_path / "out" / "conformance.md").read_text()
    assert "| `smb2.durable-open.reopen2` | pass | fail | **NOT ALLOWLISTED**: " in md
