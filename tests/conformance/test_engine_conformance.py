"""The engine against fake_smb and real Samba: round trip, encryption modes, dialect, faults."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from smbprotocol.connection import Dialects

from ibs.engine.errors import AlertCategory
from ibs.engine.share.smb import SmbShare
from ibs.fake_smb.proxy import FaultProxy, ResetAfterBytes, Stream
from tests.conformance.conftest import (
    MARKER,
    Rig,
    Server,
    make_rig,
    start_fake,
    start_samba,
)
from tests.engine.conftest import tree_snapshot

pytestmark = pytest.mark.timeout(60)


def is_guid(name: str) -> bool:
    try:
        uuid.UUID(name)
        return True
    except ValueError:
        return False


def on_share(server: Server) -> list[str]:
    root = server.backup_root
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def share_has_marker(root: Path) -> bool:
    return any(MARKER in p.read_bytes() for p in root.rglob("*") if p.is_file())


def assert_failed(rig: Rig, record, category: AlertCategory, partial_may_remain: bool = False) -> None:
    assert record.status == "Failed", record
    assert record.error["category"] == category.value, record.error
    active = rig.ctl.alert_book().active()
    assert category.value in {category_of(a) for a in active}, active
    names = on_share(rig.server)
    assert not [n for n in names if is_guid(n)], f"a complete backup is visible: {names}"
    if not partial_may_remain:
        assert not [n for n in names if n.startswith(".partial-")], names


def assert_recovers(rig: Rig) -> None:
    rig.clock.advance(3600)
    record = rig.ctl.start_backup().run()
    assert record.status == "Succeeded", record.error
    assert rig.ctl.alert_book().active() == []
    names = on_share(rig.server)
    assert names == [record.id], names  # leftovers of the failed job are gone


def category_of(alert) -> str:
    return alert.category.value if hasattr(alert.category, "value") else alert.category


# -- 1. round trip --------------------------------------------------------------------------

def test_round_trip(server: Server, sources, cert_pair, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, server, sources, cert_pair.cer)
    first = rig.ctl.start_backup().run()
    assert first.status == "Succeeded", first.error
    assert first.transferEncrypted is True
    assert first.location == server.unc
    result = rig.ctl.verify(first.id, cert_pair.key)
    assert set(result) == {"CA", "ECE"}
    target = tmp_path / "restored"
    rig.ctl.restore(first.id, cert_pair.key, str(target))
    for role, src in sources.items():
        assert tree_snapshot(target / role) == tree_snapshot(src)
    assert not share_has_marker(server.folder_dir)

    rig.clock.advance(3600)
    second = rig.ctl.start_backup().run()
    assert second.status == "Succeeded", second.error
    assert rig.ctl.prune(dry_run=True) == []
    rig.clock.advance(8 * 86400)
    planned = rig.ctl.prune(dry_run=True)
    assert planned == [f"{server.unc}\\MASBackup\\{first.id}"]
    assert sorted(on_share(server)) == sorted([first.id, second.id])  # dry run deleted nothing


# -- 2. encryption modes --------------------------------------------------------------------

@pytest.mark.parametrize("mode,encrypted", [("required", True), ("desired", True), ("off", False)])
@pytest.mark.parametrize("kind", ["fake", pytest.param("samba", marks=pytest.mark.samba)])
def test_encryption_mode(kind: str, mode: str, encrypted: bool, sources, cert_pair,
                         tmp_path: Path) -> None:
    share_dir = tmp_path / "share"
    share_dir.mkdir()
    (share_dir / "enc").mkdir()
    impl = start_fake(share_dir, encryption=mode) if kind == "fake" else start_samba(share_dir, encryption=mode)
    try:
        server = Server(kind, impl, share_dir, "enc")
        rig = make_rig(tmp_path, server, sources, cert_pair.cer)
        record = rig.ctl.start_backup().run()
        assert record.status == "Succeeded", record.error
        assert record.transferEncrypted is encrypted
        assert not share_has_marker(share_dir), "source plaintext found on the share"
        assert rig.ctl.verify(record.id, cert_pair.key)
    finally:
        impl.stop()


# -- 3. dialect ------------------------------------------------------------------------------

def test_dialect_is_3_1_1(server: Server) -> None:
    with SmbShare(server.unc, server.user, server.password, port=server.port) as share:
        assert share.dialect == Dialects.SMB_3_1_1
        assert share.transfer_encrypted is True


# -- 4. faults -------------------------------------------------------------------------------

def test_wrong_password(server: Server, sources, cert_pair, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, server, sources, cert_pair.cer)
    server.set_server_password("changed-on-the-server")
    record = rig.ctl.start_backup().run()
    assert_failed(rig, record, AlertCategory.AUTHENTICATION)
    server.set_server_password(server.password)
    assert_recovers(rig)


def test_share_does_not_exist(server: Server, sources, cert_pair, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, server, sources, cert_pair.cer)
    rig.ctl.configure(path="\\\\127.0.0.1\\nosuch\\x")
    record = rig.ctl.start_backup().run()
    assert_failed(rig, record, AlertCategory.PATH_FAULT)
    rig.ctl.configure(path=server.unc)
    assert_recovers(rig)


def test_folder_does_not_exist(server: Server, sources, cert_pair, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, server, sources, cert_pair.cer)
    server.folder_dir.rmdir()
    record = rig.ctl.start_backup().run()
    assert_failed(rig, record, AlertCategory.PATH_FAULT)
    assert not server.folder_dir.exists()  # the engine does not create the configured folder
    server.folder_dir.mkdir()
    assert_recovers(rig)


@pytest.mark.parametrize("kind", ["fake", pytest.param("samba", marks=pytest.mark.samba)])
def test_server_offers_only_smb2(kind: str, sources, cert_pair, tmp_path: Path) -> None:
    share_dir = tmp_path / "share"
    share_dir.mkdir()
    (share_dir / "old").mkdir()
    if kind == "fake":
        impl = start_fake(share_dir, max_dialect="2.1")
    else:
        impl = start_samba(share_dir, min_protocol="SMB2_02", max_protocol="SMB2_10")
    try:
        server = Server(kind, impl, share_dir, "old")
        rig = make_rig(tmp_path, server, sources, cert_pair.cer)
        record = rig.ctl.start_backup().run()
        assert_failed(rig, record, AlertCategory.CONNECTIVITY)
        assert "SMB 2.1" in record.error["message"], record.error
        if kind == "fake":
            impl.max_dialect = "3.1.1"
        else:
            impl.stop()
            impl.min_protocol, impl.max_protocol = "SMB3_00", "SMB3_11"
            impl.start()  # same port, same share
        assert_recovers(rig)
    finally:
        impl.stop()


def test_nothing_listening(fake_server: Server, closed_port: int, sources, cert_pair,
                           tmp_path: Path) -> None:
    rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer)
    rig.ctl.configure(smb_port=closed_port)
    started = time.monotonic()
    record = rig.ctl.start_backup().run()
    assert time.monotonic() - started < 5
    assert_failed(rig, record, AlertCategory.CONNECTIVITY)
    rig.ctl.configure(smb_port=fake_server.port)
    assert_recovers(rig)


def test_host_does_not_resolve(fake_server: Server, sources, cert_pair, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer)
    rig.ctl.configure(path="\\\\nosuch.invalid\\backup\\x")
    record = rig.ctl.start_backup().run()
    assert_failed(rig, record, AlertCategory.CONNECTIVITY)
    assert "nosuch.invalid" in record.error["message"]
    rig.ctl.configure(path=fake_server.unc)
    assert_recovers(rig)


def small_timeouts(settings, password):
    return SmbShare(settings.path, settings.username, password, port=settings.smb_port,
                    connect_timeout=2, request_timeout=2)


@pytest.mark.parametrize("rule", ["reject", "blackhole"])
def test_firewall(rule: str, fake_server: Server, sources, cert_pair, tmp_path: Path) -> None:
    with FaultProxy(upstream_port=fake_server.port) as proxy:
        rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer, share_factory=small_timeouts)
        rig.ctl.configure(smb_port=proxy.port)
        getattr(proxy, rule)()
        started = time.monotonic()
        record = rig.ctl.start_backup().run()
        elapsed = time.monotonic() - started
        assert elapsed < 5, elapsed
        assert_failed(rig, record, AlertCategory.CONNECTIVITY)
        proxy.allow()
        assert_recovers(rig)


def test_reset_mid_write_by_proxy(fake_server: Server, sources, cert_pair, tmp_path: Path) -> None:
    with FaultProxy(upstream_port=fake_server.port) as proxy:
        rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer, share_factory=small_timeouts)
        rig.ctl.configure(smb_port=proxy.port)
        # Enough for negotiate, logon and the first requests, not for the whole backup.
        proxy.set_toxics(ResetAfterBytes(limit=60_000, stream=Stream.UPSTREAM))
        record = rig.ctl.start_backup().run()
        # The engine says Connectivity (GeneralFault would also be acceptable for a reset).
        assert record.error["category"] == "Connectivity", record.error
        assert "while writing MASBackup/.partial-" in record.error["message"]  # really mid-write
        assert_failed(rig, record, AlertCategory.CONNECTIVITY, partial_may_remain=True)
        proxy.clear()
        assert_recovers(rig)


def test_drop_mid_write(fake_server: Server, sources, cert_pair, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer, share_factory=small_timeouts)
    fake_server.impl.faults.drop_mid_write = True
    record = rig.ctl.start_backup().run()
    assert record.error["category"] == "Connectivity", record.error
    assert "while writing MASBackup/.partial-" in record.error["message"]
    assert_failed(rig, record, AlertCategory(record.error["category"]), partial_may_remain=True)
    fake_server.impl.faults.clear()
    assert_recovers(rig)


def test_share_full_before_backup(fake_server: Server, sources, cert_pair, tmp_path: Path) -> None:
    fake_server.impl.quota_bytes = 50_000
    rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer)
    record = rig.ctl.start_backup().run()
    assert_failed(rig, record, AlertCategory.SHARE_CAPACITY)
    assert "free; this backup needs about" in record.error["message"]
    fake_server.impl.quota_bytes = None
    assert_recovers(rig)


def test_share_full_mid_write(fake_server: Server, sources, cert_pair, tmp_path: Path) -> None:
    """Free space passes the pre-check, then the share fills up while the backup writes."""
    fake_server.impl.quota_bytes = 2_000_000
    rig = make_rig(tmp_path, fake_server, sources, cert_pair.cer)
    job = rig.ctl.start_backup()
    steps = job.steps()
    next(steps)  # the pre-check has passed
    filler = fake_server.share_dir / "filler.bin"
    filler.write_bytes(b"\0" * 1_990_000)  # someone else fills the share
    for _ in steps:
        pass
    record = job.record
    assert_failed(rig, record, AlertCategory.SHARE_CAPACITY)
    assert "needs about" not in record.error["message"]  # it came from the write, not the pre-check
    filler.unlink()
    assert_recovers(rig)


# -- status codes both servers must agree on ------------------------------------------------

STATUS_BAD_NETWORK_NAME = 0xC00000CC


def _unknown_share_status(server: Server) -> int | None:
    from ibs.engine.errors import PathFaultError

    share = SmbShare("\\\\127.0.0.1\\nosuch\\x", server.user, server.password, port=server.port)
    with pytest.raises(PathFaultError) as info:
        share.connect()
    share.close()
    return getattr(info.value, "smb_status", None)


@pytest.mark.parametrize("kind", [
    pytest.param("fake"),
    pytest.param("samba", marks=pytest.mark.samba),
])
def test_unknown_share_status(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind == "fake":
        server = request.getfixturevalue("fake_server")
    else:
        impl = request.getfixturevalue("samba_default")
        server = Server("samba", impl, Path(impl.share_dir), "unused")
    assert _unknown_share_status(server) == STATUS_BAD_NETWORK_NAME
