"""smbtorture's output read into outcomes, on transcripts captured from smbtorture 4.17.

The parser is pure; only the hang test runs a process (a stand-in that never finishes).
"""

from __future__ import annotations

import os
import stat
import sys
import time

import pytest

from ibs.fake_smb.torture import (
    Outcome,
    TortureError,
    parse_listing,
    parse_output,
    run_test,
    runnable_name,
)

HEAD = "smbtorture 4.17.12-Debian\nUsing seed 1796042473\ntime: 2026-11-30 12:41:13.648476\n"

SUCCESS = HEAD + """test: eof
time: 2026-11-30 12:41:13.648746
time: 2026-11-30 12:41:13.658577
success: eof
"""

FAILURE = HEAD + """test: access
time: 2026-11-30 12:41:14.188860
time: 2026-11-30 12:41:14.204439
failure: access [
../../source4/torture/smb2/read.c:298: status was NT_STATUS_OK, expected NT_STATUS_ACCESS_DENIED: Incorrect status
]
"""

SKIP = HEAD + """test: bug14607
time: 2026-11-30 12:41:14.284390
FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8: NT_STATUS_INVALID_DEVICE_REQUEST
time: 2026-11-30 12:41:14.294223
skip: bug14607 [
../../source4/torture/smb2/read.c:394: server doesn't support FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8
]
"""

ERROR = HEAD + """test: related1
time: 2026-11-30 12:41:14.284390
error: related1 [
Unexpected status NT_STATUS_CONNECTION_DISCONNECTED
]
"""

NO_CONNECTION = HEAD + """test: eof
time: 2026-11-30 12:41:26.496095
Failed to connect to SMB2 share \\\\127.0.0.1\\backup - NT_STATUS_CONNECTION_REFUSED
time: 2026-11-30 12:41:26.496467
failure: eof [
../../source4/torture/smb2/smb2.c:37: Establishing SMB2 connection failed
]
"""

UNKNOWN = HEAD + "Unknown torture operation 'smb2.nosuch'\n"

HUNG = HEAD + "test: cancel\ntime: 2026-11-30 12:41:14.188860\n"


@pytest.mark.parametrize(("text", "code", "status", "detail"), [
    (SUCCESS, 0, "pass", ""),
    (FAILURE, 1, "fail", ("smb2/read.c:298: status was NT_STATUS_OK, expected "
                         "NT_STATUS_ACCESS_DENIED: Incorrect status")),
    (SKIP, 0, "skip", ("smb2/read.c:394: server doesn't support "
                      "FSCTL_SMBTORTURE_GLOBAL_READ_RESPONSE_BODY_PADDING8")),
    (ERROR, 1, "error", "Unexpected status NT_STATUS_CONNECTION_DISCONNECTED"),
    (NO_CONNECTION, 1, "fail", "smb2/smb2.c:37: Establishing SMB2 connection failed"),
    (UNKNOWN, 1, "error", "no result line (exit 1): Unknown torture operation 'smb2.nosuch'"),
    (HUNG, None, "timeout", "no result before the time limit (in cancel)"),
    ("", None, "timeout", "no result before the time limit"),
    ("", -11, "error", "no result line (exit -11): no output"),
])
def test_outcome_of_a_transcript(text, code, status, detail):
    assert parse_output(text, code, seconds=1.5) == Outcome(status=status, detail=detail,
                                                            seconds=1.5)


def test_a_hang_after_a_result_is_still_a_timeout():
    assert parse_output(SUCCESS + "test: more\n", None).status == "timeout"


def test_the_worst_of_several_results_counts():
    two = SUCCESS + FAILURE[len(HEAD):] + SKIP[len(HEAD):]
    assert parse_output(two, 1).status == "fail"
    assert parse_output(SKIP + SUCCESS[len(HEAD):], 0).status == "pass"
    assert parse_output(FAILURE + ERROR[len(HEAD):], 1).status == "error"


def test_a_result_without_a_reason_and_a_long_reason():
    assert parse_output(HEAD + "failure: x\n", 1) == Outcome(status="fail", detail="")
    long = HEAD + "failure: x [\n" + "y" * 500 + "\n]\n"
    detail = parse_output(long, 1).detail
    assert len(detail) == 200 and detail.endswith("...")


def test_a_result_is_a_whole_line():
    # "success:" inside a message line is not a result.
    text = HEAD + "test: t\nnote: success: t was not reached\n"
    assert parse_output(text, 1).status == "error"


def test_outcomes_are_checked():
    with pytest.raises(ValueError, match="outcome must be one of"):
        Outcome(status="passed")


@pytest.mark.parametrize(("listed", "runnable"), [
    ("smb2.lock.rw-none.rw-none", "smb2.lock.rw-none"),
    ("smb2.maxfid.maxfid", "smb2.maxfid"),
    ("smb2.ioctl.bug14788.VALIDATE_NEGOTIATE.VALIDATE_NEGOTIATE",
     "smb2.ioctl.bug14788.VALIDATE_NEGOTIATE"),
    ("smb2.delete-on-close-perms.CREATE Existing.CREATE Existing",
     "smb2.delete-on-close-perms.CREATE Existing"),
    ("smb2.compound.related1", "smb2.compound.related1"),
])
def test_runnable_names(listed, runnable):
    assert runnable_name(listed) == runnable


def test_a_listing_keeps_only_the_suite_itself():
    text = ("smbtorture 4.17.12-Debian\nsmb2.session.reauth1.reauth1\n"
            "smb2.session-require-signing.bug15397.bug15397\n\n")
    assert parse_listing(text, "smb2.session") == ["smb2.session.reauth1"]
    assert parse_listing("smbtorture 4.17.12-Debian\nsmb2.maxfid.maxfid\n",
                         "smb2.maxfid") == ["smb2.maxfid"]
    assert parse_listing("smbtorture 4.17.12-Debian\n", "smb2.nosuch") == []


@pytest.fixture
def hanging_smbtorture(tmp_path):
    """A stand-in smbtorture that starts a test and never finishes; it records its PID."""
    script = tmp_path / "smbtorture"
    pid_file = tmp_path / "pid"
    script.write_text(f"#!{sys.executable}\nimport os, sys, time\n"
                      f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                      "print('smbtorture 4.17.12-Debian'); print('test: cancel', flush=True)\n"
                      "time.sleep(600)\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, pid_file


def test_a_hang_is_cut_at_the_bound_and_is_a_timeout(hanging_smbtorture):
    script, pid_file = hanging_smbtorture
    started = time.monotonic()
    outcome, text = run_test("smb2.lock.cancel", port=1, user="u", password="p", timeout=1.0,
                             smbtorture=str(script))
    assert time.monotonic() - started < 5
    assert outcome.status == "timeout" and outcome.detail.endswith("(in cancel)")
    assert 1.0 <= outcome.seconds < 5
    assert "test: cancel" in text
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_the_password_goes_through_the_environment(tmp_path):
    script = tmp_path / "smbtorture"
    script.write_text(f"#!{sys.executable}\nimport os, sys\n"
                      "print('argv', sys.argv[1:]); print('PASSWD', os.environ.get('PASSWD'))\n"
                      "print('success: t')\n")
    script.chmod(0o755)
    outcome, text = run_test("smb2.x", port=4455, user="u", password="pw-9", timeout=10,
                             smbtorture=str(script))
    assert outcome.status == "pass"
    assert "argv ['//127.0.0.1/backup', '-p', '4455', '-U', 'u', 'smb2.x']" in text
    assert "PASSWD pw-9" in text


def test_missing_smbtorture_is_one_clear_error(monkeypatch):
    from ibs.fake_smb import torture

    monkeypatch.setattr(torture.shutil, "which", lambda name: None)
    monkeypatch.setattr(torture, "SMBTORTURE", "/nonexistent/smbtorture")
    with pytest.raises(TortureError, match="install the Debian package samba-testsuite"):
        torture.find_smbtorture()
