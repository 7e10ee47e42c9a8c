"""Bad input to ``ibs``: one line on stderr naming what is wrong, exit 2, no traceback, and
nothing left behind (no file made, changed or removed anywhere under the test's folder).

The table is the place to add a case: a name, the command line (built from the prepared
folder), a fragment the message must hold, and optionally a setup step or bytes for stdin.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ibs.engine.certs import load_pfx
from ibs.engine.cli import app
from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput
from ibs.engine.manifest import ROLE_NAME
from ibs.engine.store import Store
from tests.engine.conftest import T0, CertPair, make_tree

NOT_UTF8 = b"pass\xff\xfeword\n"  # a Latin-1 or UTF-16 file saved by mistake
BACKUP_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@dataclass(frozen=True)
class Env:
    tmp: Path
    store: Path
    share: Path
    src: Path
    cer: Path
    pfx: Path
    pw: Path
    bad_pw: Path

    def ibs(self, *args: str) -> list[str]:
        return ["--store", str(self.store), *args]

    def cert_new(self, *args: str) -> list[str]:
        return self.ibs("cert", "new", "--out-cer", str(self.tmp / "new.cer"),
                        "--out-pfx", str(self.tmp / "new.pfx"), *args)


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Env], list[str]]
    says: Callable[[Env], str] | str  # a fragment of the one line
    setup: Callable[[Env], None] | None = None
    stdin: bytes | None = None


def _write(rel: str, text: str) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        path = env.store / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return setup


def _settings_with(**changes: object) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        path = env.store / "settings.json"
        raw = json.loads(path.read_text())
        raw.update(changes)
        path.write_text(json.dumps(raw))

    return setup


def _backup_and_renewed_pfx(env: Env) -> None:
    """A backup made with the test certificate, and ``renewed.pfx``: the same key in a new
    certificate (as "renew with the same key" makes), so its thumbprint differs."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    ctl = Controller(Store(str(env.store)), ManualClock(T0), new_id=lambda: uuid.UUID(BACKUP_ID))
    assert ctl.start_backup("OnDemand").run().status == "Succeeded"
    old = load_pfx(env.pfx.read_bytes(), env.pw.read_text().strip())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IBS test (renewed)")])
    renewed = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(old.private_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(T0).not_valid_after(T0 + dt.timedelta(days=730))
               .sign(old.private_key, hashes.SHA256()))
    password = env.pw.read_text().strip().encode()
    (env.tmp / "renewed.pfx").write_bytes(pkcs12.serialize_key_and_certificates(
        b"renewed", old.private_key, renewed, None, BestAvailableEncryption(password)))


CASES = [
    # Password files that are not UTF-8: each command that reads one.
    Case("config-set-password-file-not-utf8",
         lambda e: e.ibs("config", "set", "--username", "u", "--password-file", str(e.bad_pw)),
         "is not UTF-8"),
    Case("config-set-password-stdin-not-utf8",
         lambda e: e.ibs("config", "set", "--username", "u", "--password-file", "-"),
         "is not UTF-8", stdin=NOT_UTF8),
    Case("verify-password-file-not-utf8",
         lambda e: e.ibs("backup", "verify", BACKUP_ID, "--decryption-cert", str(e.pfx),
                         "--decryption-cert-password-file", str(e.bad_pw)),
         "is not UTF-8"),
    Case("cert-new-password-file-not-utf8",
         lambda e: e.cert_new("--pfx-password-file", str(e.bad_pw)), "is not UTF-8"),
    # Certificate subjects X.509 cannot hold.
    Case("cert-new-empty-subject",
         lambda e: e.cert_new("--subject", "", "--pfx-password-file", str(e.pw)), "subject is empty"),
    Case("cert-new-blank-subject",
         lambda e: e.cert_new("--subject", "   ", "--pfx-password-file", str(e.pw)), "subject is empty"),
    Case("cert-new-100000-character-subject",
         lambda e: e.cert_new("--subject", "S" * 100_000, "--pfx-password-file", str(e.pw)),
         "100000 characters"),
    # One file for both halves: refused before anything is written.
    Case("cert-new-same-out-file",
         lambda e: e.ibs("cert", "new", "--out-cer", str(e.tmp / "x"), "--out-pfx", str(e.tmp / "x"),
                         "--pfx-password-file", str(e.pw)),
         "two different files"),
    Case("cert-new-same-out-file-spelled-differently",
         lambda e: e.ibs("cert", "new", "--out-cer", str(e.tmp / "x"),
                         "--out-pfx", str(e.tmp / "src" / ".." / "x"), "--pfx-password-file", str(e.pw)),
         "two different files"),
    # Accepted silently before: a path rewritten, a role given twice, an empty role.
    Case("path-with-forward-slashes", lambda e: e.ibs("config", "set", "--path", "//host/share"),
         r"\\host\share"),
    Case("path-with-mixed-slashes", lambda e: e.ibs("config", "set", "--path", r"\\host/share\f"),
         "uses '/'"),
    Case("source-role-given-twice",
         lambda e: e.ibs("config", "set", "--source", f"R={e.src}", "--source", f"R={e.share}"),
         "role R is given twice"),
    Case("source-roles-differing-in-case",
         lambda e: e.ibs("config", "set", "--source", f"ab={e.src}", "--source", f"AB={e.share}"),
         "differ only in case"),
    Case("restore-empty-role",
         lambda e: e.ibs("backup", "restore", BACKUP_ID, "--decryption-cert", str(e.pfx),
                         "--decryption-cert-password-file", str(e.pw), "--target", str(e.tmp / "out"),
                         "--role", ""),
         "--role '' names no role"),
    # Damaged store files: one line naming the file, what is wrong and what to do.
    Case("settings-cert-not-base64", lambda e: e.ibs("config", "show"),
         lambda e: f"{e.store / 'settings.json'} is damaged (field 'encryptionCert' is not base64)",
         setup=_settings_with(encryptionCert="not base64!")),
    Case("settings-wrong-type", lambda e: e.ibs("backup", "start"),
         lambda e: f"{e.store / 'settings.json'} is damaged (field 'backupFrequencyInHours' is text",
         setup=_settings_with(backupFrequencyInHours="12")),
    Case("settings-number-for-text", lambda e: e.ibs("config", "show"), "field 'encryptionCert' is a number",
         setup=_settings_with(encryptionCert=3)),
    Case("settings-out-of-bounds", lambda e: e.ibs("config", "show"), "must be between 2 and 14",
         setup=_settings_with(backupRetentionPeriodInDays=99)),
    Case("settings-not-an-object", lambda e: e.ibs("config", "show"), "a JSON object is expected, not a list",
         setup=_write("settings.json", "[1, 2]")),
    Case("settings-not-json", lambda e: e.ibs("config", "set", "--frequency-hours", "6"),
         "move it aside and set every setting again", setup=_write("settings.json", '{"path": ')),
    Case("alerts-not-a-list", lambda e: e.ibs("alerts"),
         lambda e: f"{e.store / 'alerts.json'} is damaged (a JSON list of alerts is expected)",
         setup=_write("alerts.json", '{"a": 1}')),
    Case("alert-unknown-field", lambda e: e.ibs("alerts"), "(unknown field 'x'); move it aside: the alert history",
         setup=_write("alerts.json", '[{"x": 1}]')),
    Case("schedule-not-an-object", lambda e: e.ibs("config", "show"),
         lambda e: f"{e.store / 'schedule.json'} is damaged (a JSON object is expected, not a list)",
         setup=_write("schedule.json", "[]")),
    Case("schedule-bad-time", lambda e: e.ibs("config", "show"), "field 'nextSlot' is 'soon', not a time",
         setup=_write("schedule.json", '{"nextSlot": "soon"}')),
    Case("job-record-only-an-id", lambda e: e.ibs("backup", "list"),
         lambda e: f"{e.store / 'jobs' / (BACKUP_ID + '.json')} is damaged (field 'id' is a number 3",
         setup=_write(f"jobs/{BACKUP_ID}.json", '{"id": 3}')),
    Case("job-record-missing-fields", lambda e: e.ibs("backup", "show", BACKUP_ID),
         "field 'status' is missing", setup=_write(f"jobs/{BACKUP_ID}.json", json.dumps({"id": BACKUP_ID}))),
    Case("job-record-unknown-status", lambda e: e.ibs("backup", "list"), "field 'status' is 'Done', not one of",
         setup=_write(f"jobs/{BACKUP_ID}.json", json.dumps({
             "id": BACKUP_ID, "status": "Done", "trigger": "OnDemand",
             "createdDateTime": "2026-03-01T08:00:00.000000Z"}))),
    Case("job-record-bad-time", lambda e: e.ibs("backup", "list"), "field 'createdDateTime' is 'yesterday'",
         setup=_write(f"jobs/{BACKUP_ID}.json", json.dumps({
             "id": BACKUP_ID, "status": "Succeeded", "trigger": "OnDemand",
             "createdDateTime": "yesterday"}))),
    Case("job-record-unknown-field", lambda e: e.ibs("backup", "list"), "its backup on the share is not",
         setup=_write(f"jobs/{BACKUP_ID}.json", json.dumps({
             "id": BACKUP_ID, "status": "Succeeded", "trigger": "OnDemand",
             "createdDateTime": "2026-03-01T08:00:00Z", "colour": "red"}))),
]


@pytest.fixture
def env(tmp_path: Path, cert_pair: CertPair, monkeypatch: pytest.MonkeyPatch) -> Env:
    for name in ("IBS_STORE", "IBS_PFX_PASSWORD", "IBS_SHARE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    cer, pfx, pw = cert_pair.write(tmp_path)
    (tmp_path / "share").mkdir()
    src = make_tree(tmp_path / "src" / "CA", {"a.txt": b"alpha"})
    bad_pw = tmp_path / "bad.pw"
    bad_pw.write_bytes(NOT_UTF8)
    e = Env(tmp_path, tmp_path / "store", tmp_path / "share", src, cer, pfx, pw, bad_pw)
    Controller(Store(str(e.store)), ManualClock(T0)).configure(
        path=str(e.share), cert=cert_pair.cer, sources={"CA": str(src)})
    return e


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a digest of its content: what "nothing changed" compares."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def _run(argv: list[str], stdin: bytes | None, capsys, monkeypatch) -> tuple[int, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        code = app.main(argv)  # anything else escaping main is a traceback: the test errors
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(case: Case, env: Env, capsys, monkeypatch) -> None:
    if case.setup:
        case.setup(env)
    before = _snapshot(env.tmp)
    code, err = _run(case.argv(env), case.stdin, capsys, monkeypatch)
    says = case.says(env) if callable(case.says) else case.says
    assert code == 2, err
    assert err.startswith("ibs: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert says in err
    assert _snapshot(env.tmp) == before


def test_the_console_script_says_the_same(env: Env) -> None:
    """One case end to end through the installed ``ibs``, as an operator runs it."""
    import subprocess

    r = subprocess.run([str(Path(sys.executable).parent / "ibs"),
                        *env.cert_new("--subject", "S" * 100_000, "--pfx-password-file", str(env.pw))],
                       check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "100000 characters" in r.stderr, r.stderr
    assert not (env.tmp / "new.cer").exists() and not (env.tmp / "new.pfx").exists()


def test_cert_new_leaves_no_half_pair_when_the_second_file_fails(env: Env, capsys, monkeypatch) -> None:
    """The private key is written first; if the certificate cannot be written, the key goes too."""
    import os

    real_open = os.open

    def failing_open(path, flags, mode=0o777):
        if str(path).endswith("new.cer"):
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", failing_open)
    code, err = _run(env.cert_new("--pfx-password-file", str(env.pw)), None, capsys, monkeypatch)
    assert code == 2 and "No space left on device" in err and err.count("\n") == 1, err
    assert not (env.tmp / "new.pfx").exists() and not (env.tmp / "new.cer").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(role=st.from_regex(ROLE_NAME, fullmatch=True), data=st.data())
def test_role_names_differing_only_in_case_are_refused_by_configure(env: Env, role: str, data) -> None:
    """``ab`` and ``AB`` are one file on an SMB share or NTFS: whoever configures (the CLI, the
    REST provider, the simulator) is refused, and the stored sources stay as they were."""
    assume(role.upper() != role.lower())  # a letter to change the case of
    other = data.draw(st.sampled_from([role.swapcase(), role.upper(), role.lower()])
                      .filter(lambda r: r != role), label="other")
    ctl = Controller(Store(str(env.store)), ManualClock(T0))
    before = ctl.settings.sources
    with pytest.raises(BadInput, match="differ only in case"):
        ctl.configure(sources={role: str(env.src), other: str(env.share)})
    assert ctl.settings.sources == before


def test_a_certificate_renewed_with_the_same_key_verifies_and_restores(env: Env, capsys, monkeypatch) -> None:
    """Not bad input: the MAC covers the thumbprint, so a PFX with the backup's key under a
    renewed certificate opens it (docs/FORMAT.md), never "the manifest's thumbprint was altered"."""
    _backup_and_renewed_pfx(env)
    renewed = ["--decryption-cert", str(env.tmp / "renewed.pfx"), "--decryption-cert-password-file", str(env.pw)]
    code, err = _run(env.ibs("backup", "verify", BACKUP_ID, *renewed), None, capsys, monkeypatch)
    assert (code, err) == (0, "")
    code, err = _run(env.ibs("backup", "restore", BACKUP_ID, *renewed, "--target", str(env.tmp / "out")),
                     None, capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert (env.tmp / "out" / "CA" / "a.txt").read_bytes() == b"alpha"
