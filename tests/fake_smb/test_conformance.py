"""The conformance harness without servers: the allowlist, gaps, totals, the table, exit codes."""

from __future__ import annotations

import json

import pytest

from ibs.fake_smb import conformance_cli, conformance_report
from ibs.fake_smb.conformance import ALLOWLIST, Result, Row, load_allowlist
from ibs.fake_smb.torture import Outcome, TortureError

PASS, FAIL = Outcome(status="pass"), Outcome(status="fail", detail="lock.c:101: wrong status")
HANG = Outcome(status="timeout", detail="no result before the time limit (in cancel)")
SKIP = Outcome(status="skip", detail="not W2K8")


def _result(allowlist: dict[str, str]) -> Result:
    rows = [
        ("smb2.lock.valid-request", PASS, FAIL),
        ("smb2.lock.cancel", PASS, HANG),
        ("smb2.lock.rw-none", SKIP, SKIP),
        ("smb2.lock.rw-shared", PASS, PASS),
        ("smb2.read.eof", FAIL, PASS),
    ]
    return Result(rows=[Row(test=t, suite=t.rsplit(".", 1)[0], samba=s, fake_smb=f,
                            reason=allowlist.get(t)) for t, s, f in rows],
                  suites=["smb2.lock", "smb2.read"], timeout=30, allowlist=allowlist)


def test_totals_gaps_and_exit_code():
    result = _result({"smb2.lock.cancel": "lock cancel not implemented",
                      "smb2.lock.rw-shared": "was a gap once"})
    assert result.totals() == {
        "tests": 5, "samba_passes": 3, "fake_smb_passes": 2,
        "fake_smb_fails_where_samba_passes": 2, "allowlisted": 1, "not_allowlisted": 1,
        "fake_smb_passes_where_samba_does_not": 1,
    }
    assert result.unexpected == ["smb2.lock.valid-request"]
    assert result.stale == ["smb2.lock.rw-shared"]
    assert result.exit_code == 1
    everything = _result({"smb2.lock.cancel": "r", "smb2.lock.valid-request": "r"})
    assert everything.unexpected == [] and everything.exit_code == 0


def test_markdown_and_json_side_by_side(tmp_path):
    result = _result({"smb2.lock.cancel": "lock cancel not implemented"})
    md, js = conformance_report.write(result, tmp_path / "out")
    text = md.read_text()
    assert "| fake_smb fails where Samba passes | 2 |" in text
    assert "| ... of those allowlisted | 1 |" in text
    assert "not allowlisted:** `smb2.lock.valid-request`" in text
    assert ("| `smb2.lock.valid-request` | pass | fail | **NOT ALLOWLISTED**: "
            "lock.c:101: wrong status |") in text
    assert "| `smb2.lock.cancel` | pass | timeout | allowlisted: lock cancel not implemented |" \
        in text
    assert text.index("## smb2.lock") < text.index("## smb2.read")
    data = json.loads(js.read_text())
    assert data["totals"]["not_allowlisted"] == 1
    assert data["unexpected"] == ["smb2.lock.valid-request"]
    cancel = data["tests"][1]
    assert cancel == {"test": "smb2.lock.cancel", "suite": "smb2.lock",
                      "samba": {"status": "pass", "detail": "", "seconds": 0.0},
                      "fake_smb": {"status": "timeout", "detail": HANG.detail, "seconds": 0.0},
                      "gap": True, "allowlist_reason": "lock cancel not implemented"}


def test_the_shipped_allowlist_loads_and_every_entry_has_a_reason():
    entries = load_allowlist(ALLOWLIST)
    assert all(reason for reason in entries.values())
    assert all(test.startswith("smb2.") for test in entries)


@pytest.mark.parametrize(("text", "message"), [
    ('["smb2.lock"]\n"smb2.read.eof" = "x"\n', "is listed under"),
    ('["smb2.lock"]\n"smb2.lock.cancel" = ""\n', "needs a reason"),
    ('"smb2.lock" = "x"\n', "must be a table of tests"),
    ('["smb2.lock"\n', "not valid TOML"),
])
def test_a_bad_allowlist_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "allow.toml"
    path.write_text(text)
    with pytest.raises(TortureError, match=message):
        load_allowlist(path)


def test_a_missing_allowlist(tmp_path):
    with pytest.raises(TortureError, match="cannot read the allowlist"):
        load_allowlist(tmp_path / "nope.toml")


def _cli(argv):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    conformance_cli.register(sub)
    args = parser.parse_args(["conformance", *argv])
    return args.func(args)


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert _cli(["--report-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert _cli(["--suite", "smb2.lock", "--timeout", "0", "--report-dir", str(tmp_path)]) == 2
    assert "--timeout must be a positive" in capsys.readouterr().err


def test_missing_smbtorture_exits_2(tmp_path, capsys, monkeypatch):
    from ibs.fake_smb import torture

    monkeypatch.setattr(torture.shutil, "which", lambda name: None)
    monkeypatch.setattr(torture, "SMBTORTURE", "/nonexistent/smbtorture")
    assert _cli(["--suite", "smb2.lock", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == ("ibs fake-smb conformance: smbtorture not found: install the Debian package "
                   "samba-testsuite\n")


def test_an_unknown_suite_exits_2(tmp_path, capsys):
    from ibs.fake_smb.torture import find_smbtorture

    try:
        find_smbtorture()
    except TortureError:
        pytest.skip("needs smbtorture (Debian package samba-testsuite)")
    assert _cli(["--suite", "smb2.nosuch", "--report-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "ibs fake-smb conformance: smbtorture knows no suite or test named 'smb2.nosuch' "
        "(see 'smbtorture --list-suites')\n")
    assert not (tmp_path / "conformance.md").exists()


def test_the_old_out_names_the_report_dir_once_and_still_works(tmp_path, capsys):
    """--out was the only output option not called --report-dir (README, "Option names")."""
    assert _cli(["--suite", "smb2.lock", "--timeout", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "ibs: --out is now --report-dir"
    assert "--timeout must be a positive" in err[1]  # parsed on, to the next check
    assert _cli(["--suite", "smb2.lock"]) == 2
    assert capsys.readouterr().err == ("ibs fake-smb conformance: name a folder for the report "
                                       "with --report-dir DIR\n")
