"""A role with entries the engine may not read, or cannot hold, still backs up all the rest.

The tests run as root, where mode 000 stops nothing; an unreadable entry is made by making
``os.open`` and ``os.scandir`` (what the source reads through) refuse the chosen paths with
the PermissionError a non-root engine would get (``denied``).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine import layout
from ibs.engine.cli import app
from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.store import Store
from tests.engine.conftest import T0, make_tree, tree_snapshot


@contextlib.contextmanager
def denied(*paths: Path, err: int = errno.EACCES) -> Iterator[None]:
    """Open and list as a user without read access to ``paths`` would (os.open, os.scandir
    and the built-in open: whichever the source reads through)."""
    refused = {os.fsdecode(p) for p in paths}
    real_open, real_scandir, real_builtin_open = os.open, os.scandir, builtins.open

    def check(path) -> None:
        path = os.fsdecode(path)
        if path in refused:
            raise OSError(err, os.strerror(err), path)

    def fake_open(path, *args, **kw):
        if not isinstance(path, int):
            check(path)
        return real_open(path, *args, **kw)

    def fake_scandir(path="."):
        if not isinstance(path, int):
            check(path)
        return real_scandir(path)

    def fake_builtin_open(file, *args, **kw):
        if not isinstance(file, int):
            check(file)
        return real_builtin_open(file, *args, **kw)

    os.open, os.scandir, builtins.open = fake_open, fake_scandir, fake_builtin_open
    try:
        yield
    finally:
        os.open, os.scandir, builtins.open = real_open, real_scandir, real_builtin_open


def leftovers(share: Path) -> list[str]:
    root = share / "MASBackup"
    return [n for n in os.listdir(root) if layout.is_leftover_name(n)] if root.exists() else []


def restored(ctl: Controller, backup_id: str, key, target: Path) -> dict[str, tuple]:
    ctl.restore(backup_id, key, str(target))
    return {role: tree_snapshot(target / role) for role in os.listdir(target)}


def test_an_unreadable_file_is_left_out_and_named_and_every_other_file_is_kept(rig, cert_pair):
    ca = rig.sources["CA"]
    make_tree(ca, {"keys/secret.key": b"private", "keys/public.cer": b"public", "z.log": b"z"})
    expected = tree_snapshot(ca)
    del expected["keys/secret.key"]
    with denied(ca / "keys" / "secret.key"):
        record = rig.ctl.start_backup().run()
    assert record.status == "PartialSucceeded"
    assert record.roleStatus == [{"roleName": "CA", "status": "PartialSucceeded"},
                                 {"roleName": "ECE", "status": "Succeeded"}]
    named = [w for w in record.warnings if "keys/secret.key" in w]
    assert len(named) == 1 and "role CA" in named[0] and "permission denied" in named[0]
    assert not record.isCloudRecoveryReady
    alerts = rig.ctl.alert_book().active()
    assert len(alerts) == 1 and "CA" in alerts[0].message
    got = restored(rig.ctl, record.id, cert_pair.key, rig.tmp / "out")
    assert got["CA"] == expected
    assert got["ECE"] == tree_snapshot(rig.sources["ECE"])
    # What the REST provider and `ibs backup list --json` serve: the saved record.
    saved = rig.new_controller().backup_record(record.id)
    assert saved.status == "PartialSucceeded" and named[0] in saved.warnings


def test_an_unreadable_folder_is_left_out_whole_and_its_siblings_are_kept(rig, cert_pair):
    ca = rig.sources["CA"]
    make_tree(ca, {"locked/a": b"a", "locked/deep/b": b"b", "open/c": b"c"})
    expected = {k: v for k, v in tree_snapshot(ca).items() if not k.startswith("locked")}
    with denied(ca / "locked"):
        record = rig.ctl.start_backup().run()
    assert record.status == "PartialSucceeded"
    assert next(w for w in record.warnings if "locked" in w).startswith("role CA: skipped locked:")
    assert restored(rig.ctl, record.id, cert_pair.key, rig.tmp / "out")["CA"] == expected


def test_a_single_role_backup_with_an_unreadable_file_completes_and_leaves_no_partial(rig):
    rig.ctl.configure(sources={"CA": str(rig.sources["CA"])})
    make_tree(rig.sources["CA"], {"secret": b"s"})
    with denied(rig.sources["CA"] / "secret"):
        record = rig.ctl.start_backup().run()
    assert record.status == "PartialSucceeded"
    assert os.listdir(rig.share / "MASBackup") == [record.id]


def test_a_role_whose_own_folder_is_unreadable_fails_and_leaves_no_partial(rig):
    rig.ctl.configure(sources={"CA": str(rig.sources["CA"])})
    with denied(rig.sources["CA"]):
        record = rig.ctl.start_backup().run()
    assert record.status == "Failed"
    assert "permission denied" in record.error["message"].lower()
    assert leftovers(rig.share) == []


def test_fifos_and_sockets_are_named_in_warnings_and_do_not_make_the_backup_partial(rig):
    ca = rig.sources["CA"]
    os.mkfifo(ca / "pipe")
    (ca / "run").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(ca / "run" / "agent.sock"))
        record = rig.ctl.start_backup().run()
    finally:
        sock.close()
    assert record.status == "Succeeded"
    assert any("skipped pipe" in w and "FIFO" in w and "role CA" in w for w in record.warnings)
    assert any("skipped run/agent.sock" in w and "socket" in w for w in record.warnings)


def test_a_file_gone_between_listing_and_reading_is_named_and_not_partial(rig, cert_pair):
    ca = rig.sources["CA"]
    make_tree(ca, {"app.log.1": b"rotated away"})
    with denied(ca / "app.log.1", err=errno.ENOENT):
        record = rig.ctl.start_backup().run()
    assert record.status == "Succeeded"
    assert any("skipped app.log.1: disappeared" in w for w in record.warnings)


def test_thousands_of_unreadable_files_are_counted_not_each_named(rig):
    ca = rig.sources["CA"]
    make_tree(ca, {f"locked/{n:04}": b"x" for n in range(300)})
    with denied(*[ca / "locked" / f"{n:04}" for n in range(300)]):
        record = rig.ctl.start_backup().run()
    assert record.status == "PartialSucceeded"
    assert len(record.warnings) < 30
    assert any("280 more" in w for w in record.warnings)
    assert any("300 entries were not backed up" in w for w in record.warnings)


def test_the_cli_exits_4_for_a_backup_completed_with_warnings(rig, capsys):
    make_tree(rig.sources["CA"], {"secret": b"s"})
    store = Path(rig.ctl.store.root)
    with denied(rig.sources["CA"] / "secret"):
        code = app.main(["--store", str(store), "backup", "start"])
    captured = capsys.readouterr()
    assert code == 4
    assert "PartialSucceeded" in captured.err and "skipped secret" in captured.err
    assert app.main(["--store", str(store), "backup", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["status"] == "PartialSucceeded"
    assert any("skipped secret" in w for w in listed[0]["warnings"])
    assert app.main(["--store", str(store), "backup", "start"]) == 0  # readable again
    with pytest.raises(SystemExit):
        app.main(["--help"])
    assert "4 the backup completed with warnings" in capsys.readouterr().out


# --- the property: whatever is unreadable, exactly the rest is backed up --------------------

_names = st.sampled_from(["a", "b", "c", "d"])
_trees = st.dictionaries(st.lists(_names, min_size=1, max_size=3).map("/".join),
                         st.binary(max_size=64), min_size=1, max_size=8)


def _consistent(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop files whose path runs through another file (``a`` and ``a/b`` cannot both be)."""
    return {p: d for p, d in files.items()
            if not any(p.startswith(q + "/") for q in files)}


def test_exactly_the_readable_entries_are_backed_up(cert_pair):
    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(files=_trees.map(_consistent), data=st.data())
    def check(files: dict[str, bytes], data: st.DataObject) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _check_one(cert_pair, Path(tmp), files, data)

    check()


def _check_one(cert_pair, root: Path, files: dict[str, bytes], data: st.DataObject) -> None:
    src = make_tree(root / "src" / "R", files)
    entries = sorted({p.rsplit("/", i)[0] for p in files for i in range(p.count("/") + 1)})
    locked = data.draw(st.sets(st.sampled_from(entries)), label="locked")
    ctl = Controller(Store(str(root / "store")), ManualClock(T0), chunk_size=4096)
    (root / "share").mkdir()
    ctl.configure(path=str(root / "share"), cert=cert_pair.cer, sources={"R": str(src)})
    expected = {k: v for k, v in tree_snapshot(src).items()
                if not any(k == p or k.startswith(p + "/") for p in locked)}
    with denied(*[src / p for p in locked]):
        record = ctl.start_backup().run()
    # A locked entry inside a locked folder is never reached, so never named.
    reached = {p for p in locked if not any(p.startswith(q + "/") for q in locked)}
    named = {w.split("skipped ", 1)[1].split(":", 1)[0] for w in record.warnings
             if "skipped " in w}
    assert named == reached
    assert record.status == ("PartialSucceeded" if locked else "Succeeded")
    assert restored(ctl, record.id, cert_pair.key, root / "out")["R"] == expected
