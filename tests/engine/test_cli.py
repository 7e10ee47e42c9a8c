"""The ibs command line as a user runs it: output, exit codes, and bad input changing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import make_tree

# The console script pip installed beside this interpreter: what a user runs.
IBS = str(Path(sys.executable).parent / "ibs")


def ibs(store: Path, *args: str, stdin: str | None = None, env: dict | None = None):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("IBS_STORE", None)
    return subprocess.run([IBS, "--store", str(store), *args],
                          capture_output=True, text=True, input=stdin, env=full_env, timeout=120, check=False)


@pytest.fixture
def setup(tmp_path, cert_pair):
    cer, pfx, pw = cert_pair.write(tmp_path)
    share = tmp_path / "share"
    share.mkdir()
    src = make_tree(tmp_path / "src" / "CA", {"db/a.txt": b"alpha\n" * 999, "empty": b""})
    store = tmp_path / "store"
    r = ibs(store, "config", "set", "--path", str(share), "--encryption-cert", str(cer),
            "--source", f"CA={src}", "--frequency-hours", "6")
    assert r.returncode == 0, r.stderr
    return tmp_path, store, share, cer, pfx, pw


def test_backup_verify_restore_round_trip(setup):
    tmp, store, _share, _cer, pfx, pw = setup
    r = ibs(store, "backup", "start", "--json")
    assert r.returncode == 0, r.stderr
    backup = json.loads(r.stdout)
    for key in ("id", "status", "createdDateTime", "timeTakenToCreate", "encryptionCertThumbprint",
                "roleStatus", "transferEncrypted"):
        assert key in backup
    assert backup["status"] == "Succeeded"
    listed = json.loads(ibs(store, "backup", "list", "--json").stdout)
    assert [b["id"] for b in listed] == [backup["id"]]
    r = ibs(store, "backup", "verify", backup["id"], "--decryption-cert", str(pfx),
            "--decryption-cert-password-file", str(pw))
    assert r.returncode == 0 and "verified" in r.stdout, r.stderr
    r = ibs(store, "backup", "restore", backup["id"], "--decryption-cert", str(pfx),
            "--decryption-cert-password-file", "-", "--target", str(tmp / "out"), "--role", "CA",
            stdin=pw.read_text())
    assert r.returncode == 0, r.stderr
    assert (tmp / "out" / "CA" / "db" / "a.txt").read_bytes() == b"alpha\n" * 999


def test_config_show_never_shows_the_password(setup):
    _tmp, store, *_ = setup
    r = ibs(store, "config", "set", "--username", "op", "--password-file", "-", stdin="S3cret-share\n")
    assert r.returncode == 0, r.stderr
    shown = json.loads(ibs(store, "config", "show", "--json").stdout)
    assert shown["password"] is None and shown["userName"] == "op"
    assert shown["backupFrequencyInHours"] == 6 and shown["backupRetentionPeriodInDays"] == 7
    assert "S3cret-share" not in ibs(store, "config", "show").stdout


@pytest.mark.parametrize("args, message", [
    (["config", "set", "--frequency-hours", "3"], "between 4 and 12 hours"),
    (["config", "set", "--retention-days", "15"], "between 2 and 14 days"),
    (["config", "set", "--path", r"\\only-host"], "UNC"),
    (["config", "set", "--path", "/no/such/folder"], "does not exist"),
    (["config", "set", "--source", "CA=/no/such/folder"], "does not exist"),
    (["config", "set", "--source", "bad role=/tmp"], "role name"),
    (["backup", "show", "8d5bd6d5-7a8f-4a59-9d1e-5d0f1b2a9c11"], "no backup with id"),
    (["backup", "show", "nope"], "not a backup id"),
])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(setup, args, message):
    _tmp, store, *_ = setup
    before = (store / "settings.json").read_bytes()
    r = ibs(store, *args)
    assert r.returncode == 2
    assert message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert (store / "settings.json").read_bytes() == before


@pytest.mark.parametrize("bad", ["1024", "4096", "ec", "text"])
def test_bad_certificates_exit_2(setup, bad):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from tests.engine.test_certs import self_signed

    tmp, store, *_ = setup
    path = tmp / f"{bad}.cer"
    if bad == "text":
        path.write_text("certainly not\n")
    else:
        key = (ec.generate_private_key(ec.SECP256R1()) if bad == "ec"
               else rsa.generate_private_key(public_exponent=65537, key_size=int(bad)))
        path.write_bytes(self_signed(key).public_bytes(serialization.Encoding.PEM))
    before = (store / "settings.json").read_bytes()
    r = ibs(store, "config", "set", "--encryption-cert", str(path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (store / "settings.json").read_bytes() == before


def test_restore_errors(setup, other_cert_pair, cert_pair):
    tmp, store, _share, _cer, pfx, pw = setup
    backup_id = json.loads(ibs(store, "backup", "start", "--json").stdout)["id"]
    _ocer, opfx, opw = other_cert_pair.write(tmp, "other")
    restore = ["backup", "restore", backup_id, "--decryption-cert"]
    # A PFX of another certificate: the expected thumbprint is named, nothing is written.
    r = ibs(store, *restore, str(opfx), "--decryption-cert-password-file", str(opw), "--target",
            str(tmp / "t1"))
    assert r.returncode == 2 and cert_pair.thumbprint in r.stderr
    assert not (tmp / "t1" / "CA").exists()
    # The wrong password for the right PFX.
    r = ibs(store, *restore, str(pfx), "--decryption-cert-password-file", str(opw), "--target",
            str(tmp / "t2"))
    assert r.returncode == 2 and "wrong password" in r.stderr
    # An unknown role, and a target that is a file.
    r = ibs(store, *restore, str(pfx), "--decryption-cert-password-file", str(pw), "--target",
            str(tmp / "t3"), "--role", "NRP")
    assert r.returncode == 2 and "no role 'NRP'" in r.stderr
    (tmp / "afile").write_text("x")
    r = ibs(store, *restore, str(pfx), "--decryption-cert-password-file", str(pw), "--target",
            str(tmp / "afile"))
    assert r.returncode == 2 and "is a file" in r.stderr


def test_failed_backup_exits_1_and_raises_an_alert(setup):
    tmp, store, share, *_ = setup
    share.rename(tmp / "elsewhere")
    r = ibs(store, "backup", "start", "--json")
    assert r.returncode == 1
    backup = json.loads(r.stdout)
    assert backup["status"] == "Failed" and backup["error"]["category"] == "PathFault"
    alerts = json.loads(ibs(store, "alerts", "--json").stdout)
    assert [a["category"] for a in alerts] == ["PathFault"] and alerts[0]["remediation"]


def test_job_slot_held_elsewhere_exits_3(setup):
    _tmp, store, *_ = setup
    holder = subprocess.Popen(
        [sys.executable, "-c",
         ("import sys; from engine.store import Store, JobSlot; s = JobSlot(Store(sys.argv[1])); "
         "s.acquire(); print('held', flush=True); sys.stdin.readline()"), str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = ibs(store, "backup", "start")
        assert r.returncode == 3 and "another backup job is running" in r.stderr
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert ibs(store, "backup", "start").returncode == 0


def test_prune_dry_run_lists_paths(setup):
    _tmp, store, _share, *_ = setup
    r = ibs(store, "backup", "prune", "--dry-run", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"pathsToDelete": []}


def test_cert_new_writes_a_usable_pair(tmp_path):
    r = ibs(tmp_path / "st", "cert", "new", "--out-cer", str(tmp_path / "n.cer"), "--out-pfx",
            str(tmp_path / "n.pfx"), "--pfx-password-file", "-", stdin="pfx pass\n")
    assert r.returncode == 0, r.stderr
    from ibs.engine import certs

    assert certs.load_pfx((tmp_path / "n.pfx").read_bytes(), "pfx pass").thumbprint == \
        certs.load_certificate((tmp_path / "n.cer").read_bytes()).thumbprint
    assert (tmp_path / "n.pfx").stat().st_mode & 0o077 == 0
    r = ibs(tmp_path / "st", "cert", "new", "--out-cer", str(tmp_path / "n.cer"), "--out-pfx",
            str(tmp_path / "m.pfx"), "--pfx-password-file", "-", stdin="x\n")
    assert r.returncode == 2 and "already exists" in r.stderr


def test_store_writable_by_others_exits_2(tmp_path):
    store = tmp_path / "open"
    store.mkdir()
    os.chmod(store, 0o777)
    r = ibs(store, "config", "show")
    assert r.returncode == 2 and "can be written by other users" in r.stderr
