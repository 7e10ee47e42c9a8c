"""``ibs config set`` checks a location before storing it (as Set-AzsBackupConfiguration does):
it connects with the credentials and writes in the backup folder, and a failure is one line
with the category a backup would raise, exit 1, and nothing stored. ``--no-check`` stores
without connecting (offline setup)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ibs.engine.cli import app
from ibs.engine.cli.location_check import PROBE_PREFIX


def _free_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run(tmp_path: Path, capsys, monkeypatch):
    for name in ("IBS_STORE", "IBS_PFX_PASSWORD", "IBS_SHARE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    store = tmp_path / "store"

    def ibs(*args: str) -> tuple[int, str, str]:
        try:
            code = app.main(["--store", str(store), *args])
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    ibs.store = store  # type: ignore[attr-defined]
    return ibs


def _stored(store: Path) -> dict:
    path = store / "settings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _set(smb, run, tmp_path: Path, *extra: str, path: str | None = None,
         password: str | None = None, port: int | None = None) -> tuple[int, str, str]:
    pw = tmp_path / "share.pw"
    pw.write_text((smb.password if password is None else password) + "\n")
    return run("config", "set", "--path", path or smb.unc, "--smb-port", str(port or smb.port),
               "--username", smb.user, "--password-file", str(pw), *extra)


@pytest.mark.parametrize(("fault", "category"), [
    ("wrong-password", "Authentication"),
    ("no-such-share", "PathFault"),
    ("nothing-listening", "Connectivity"),
])
def test_a_location_that_fails_is_one_line_with_its_category_and_not_stored(
        fake_smb_server, run, tmp_path, fault, category) -> None:
    smb = fake_smb_server
    kw = {"wrong-password": {"password": "not-the-password"},
          "no-such-share": {"path": r"\\127.0.0.1\no-such-share\ibs"},
          "nothing-listening": {"port": _free_port()}}[fault]
    code, _out, err = _set(smb, run, tmp_path, "--smb-timeout", "5", **kw)
    assert code == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"nothing was changed: {category}:" in err and "--no-check" in err
    assert _stored(run.store) == {}


def test_a_good_location_is_checked_then_stored(fake_smb_server, run, tmp_path) -> None:
    smb = fake_smb_server
    code, out, err = _set(smb, run, tmp_path)
    assert code == 0, err
    assert "reachable, writable" in out and "free" in out
    assert _stored(run.store)["path"] == smb.unc
    backup_folder = smb.share_dir / "ibs" / "MASBackup"
    assert backup_folder.is_dir() and not any(p.name.startswith(PROBE_PREFIX) for p in backup_folder.iterdir())


def test_no_check_stores_a_location_that_cannot_be_reached(fake_smb_server, run, tmp_path) -> None:
    smb = fake_smb_server
    code, out, err = _set(smb, run, tmp_path, "--no-check", password="not-the-password")
    assert code == 0, err
    assert "checked" not in out
    assert _stored(run.store)["path"] == smb.unc
    # Settings that do not touch the location never connect: the stored one is unreachable.
    code, out, err = run("config", "set", "--frequency-hours", "6")
    assert code == 0, err
    assert _stored(run.store)["backupFrequencyInHours"] == 6


def test_other_bad_input_is_reported_before_any_connection(run, tmp_path) -> None:
    port = _free_port()  # nothing listens: a connection attempt would say Connectivity
    code, _out, err = run("config", "set", "--path", r"\\127.0.0.1\backup", "--smb-port", str(port),
                         "--frequency-hours", "3")
    assert code == 2 and "between 4 and 12 hours" in err, err
