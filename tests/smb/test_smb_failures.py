"""Dialects, encryption and every failure category, against Samba and misbehaving peers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ibs.engine.errors import (
    AuthenticationError,
    ConnectivityError,
    PathFaultError,
    ShareCapacityError,
)
from ibs.engine.share.smb import SmbShare
from ibs.fake_smb.samba import SambaServer
from tests.smb.conftest import PASSWORD, USER, Blackhole, StallingRelay, require_samba, smb_threads


def _no_smb_threads_left() -> bool:
    deadline = time.monotonic() + 3
    while smb_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not smb_threads()


# -- negotiation and encryption -------------------------------------------------------------


@pytest.mark.samba
@pytest.mark.parametrize("mode", ["off"])
def test_unencrypted_when_server_does_not_offer(tmp_path: Path, mode: str) -> None:
    require_samba()
    with SambaServer(tmp_path, users={USER: PASSWORD}, encryption=mode) as srv:
        with SmbShare(srv.unc, USER, PASSWORD, port=srv.port) as share:
            assert share.dialect == 0x0311
            assert share.transfer_encrypted is False
            share.write_bytes("plain", b"data")
            assert share.read_bytes("plain") == b"data"
        with pytest.raises(ConnectivityError, match="does not offer SMB encryption"):
            SmbShare(srv.unc, USER, PASSWORD, port=srv.port, require_encryption=True).connect()


@pytest.mark.samba
def test_encryption_required_by_server(tmp_path: Path) -> None:
    require_samba()
    with SambaServer(tmp_path, users={USER: PASSWORD}, encryption="required") as srv:
        with SmbShare(srv.unc, USER, PASSWORD, port=srv.port, require_encryption=True) as share:
            assert share.transfer_encrypted is True
            share.write_bytes("x", b"1")


@pytest.mark.samba
def test_smb30_server_is_accepted(tmp_path: Path) -> None:
    require_samba()
    with SambaServer(tmp_path, users={USER: PASSWORD}, max_protocol="SMB3_00") as srv:
        with SmbShare(srv.unc, USER, PASSWORD, port=srv.port) as share:
            assert share.dialect == 0x0300
            assert share.transfer_encrypted is True
            share.write_bytes("x", b"1" * 100_000)
            assert share.read_bytes("x") == b"1" * 100_000


@pytest.mark.samba
def test_smb2_only_server_is_refused_naming_dialect(tmp_path: Path) -> None:
    require_samba()
    with SambaServer(
        tmp_path, users={USER: PASSWORD}, min_protocol="SMB2_02", max_protocol="SMB2_10"
    ) as srv:
        with pytest.raises(ConnectivityError, match=r"offered SMB 2\.1, but SMB 3\.0 or later"):
            SmbShare(srv.unc, USER, PASSWORD, port=srv.port).connect()
    assert _no_smb_threads_left()


# -- authentication and paths ----------------------------------------------------------------


@pytest.mark.samba
def test_wrong_password_and_unknown_user(samba: SambaServer) -> None:
    for user, password in ((USER, "Wr0ng-Pa55"), ("mallory", PASSWORD)):
        with pytest.raises(AuthenticationError) as info:
            SmbShare(samba.unc, user, password, port=samba.port).connect()
        assert password not in str(info.value)
        assert samba.unc in str(info.value)


@pytest.mark.samba
def test_set_password_while_running(samba: SambaServer) -> None:
    samba.set_password(USER, "new secret")
    try:
        with SmbShare(samba.unc, USER, "new secret", port=samba.port) as share:
            assert share.stat("") is not None
        with pytest.raises(AuthenticationError):
            SmbShare(samba.unc, USER, PASSWORD, port=samba.port).connect()
    finally:
        samba.set_password(USER, PASSWORD)


@pytest.mark.samba
def test_missing_share_and_folder(samba: SambaServer) -> None:
    with pytest.raises(PathFaultError, match=r"share nosuch does not exist on 127\.0\.0\.1"):
        SmbShare(r"\\127.0.0.1\nosuch", USER, PASSWORD, port=samba.port).connect()
    with pytest.raises(PathFaultError, match=r"backup\\nosuch"):
        SmbShare(samba.unc + r"\nosuch", USER, PASSWORD, port=samba.port).connect()
    assert _no_smb_threads_left()


# -- connectivity ----------------------------------------------------------------------------


def test_nothing_listening_fails_fast(closed_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectivityError, match="cannot connect"):
        SmbShare(r"\\127.0.0.1\backup", USER, PASSWORD, port=closed_port).connect()
    assert time.monotonic() - start < 2


def test_unresolvable_host() -> None:
    with pytest.raises(ConnectivityError, match="does not resolve"):
        SmbShare(r"\\no-such-host.invalid\backup", USER, PASSWORD, connect_timeout=5).connect()


def test_messages_name_the_configured_port_not_the_endpoint(closed_port: int,
                                                            blackhole: Blackhole) -> None:
    """A relay in front of the server (the simulator's fault proxy) carries the bytes, but the
    operator configured the UNC path and port 445: the firewall rule to fix is for 445."""
    unc = r"\\backupshare.contoso.local\backup"  # never resolved: the endpoint replaces it
    with pytest.raises(ConnectivityError) as refused:
        SmbShare(unc, USER, PASSWORD, endpoint=("127.0.0.1", closed_port)).connect()
    assert str(refused.value) == (f"{unc}: cannot connect (Connection refused) "
                                  "while connecting to port 445")
    with pytest.raises(ConnectivityError) as dropped:
        SmbShare(unc, USER, PASSWORD, port=1445, endpoint=("127.0.0.1", blackhole.port),
                 connect_timeout=1).connect()
    # The configured timeout, not the 0.99x s left of it once the connection object was made.
    assert str(dropped.value) == (f"{unc}: server did not answer within 1 s "
                                  "while connecting to port 1445")


def test_blackholed_port_fails_within_connect_timeout(blackhole: Blackhole) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectivityError, match="did not answer within 2 s"):
        SmbShare(r"\\127.0.0.1\backup", USER, PASSWORD, port=blackhole.port,
                 connect_timeout=2).connect()
    elapsed = time.monotonic() - start
    assert 1.5 < elapsed < 4, elapsed
    assert blackhole.conns, "the client did reach the listener"
    assert _no_smb_threads_left()


@pytest.mark.samba
def test_stall_mid_write_fails_within_request_timeout(samba: SambaServer) -> None:
    relay = StallingRelay(samba.port, limit=2 * 1024 * 1024)
    try:
        share = SmbShare(samba.unc + r"\base", USER, PASSWORD, port=relay.port, request_timeout=2)
        share.connect()
        start = time.monotonic()
        with pytest.raises(ConnectivityError, match="did not answer within 2 s while writing"):
            with share.create("stall.bin") as f:
                for _ in range(8):
                    f.write(b"\0" * (4 * 1024 * 1024))
        assert relay.stalled.is_set()
        assert time.monotonic() - start < 5
        with pytest.raises(ConnectivityError, match="connection unusable"):
            share.listdir("")
        share.close()
        assert _no_smb_threads_left()
    finally:
        relay.close()


@pytest.mark.samba
def test_stall_mid_read_fails_within_request_timeout(samba: SambaServer, share_dir: Path) -> None:
    (share_dir / "base" / "r.bin").write_bytes(b"r" * (16 * 1024 * 1024))
    relay = StallingRelay(samba.port, limit=0)
    relay.limit = 10**9
    try:
        share = SmbShare(samba.unc + r"\base", USER, PASSWORD, port=relay.port, request_timeout=2)
        share.connect()
        with share.open("r.bin") as f:
            assert f.read(1024) == b"r" * 1024
            relay.limit = relay.forwarded  # the next request never reaches the server
            start = time.monotonic()
            with pytest.raises(ConnectivityError, match="within 2 s while reading"):
                f.read()
            assert time.monotonic() - start < 5
        share.close()
        assert _no_smb_threads_left()
    finally:
        relay.close()
        (share_dir / "base" / "r.bin").unlink()


@pytest.mark.samba
def test_closing_writer_after_connection_died_raises(samba: SambaServer) -> None:
    share = SmbShare(samba.unc + r"\base", USER, PASSWORD, port=samba.port, request_timeout=5)
    share.connect()
    writer = share.create("half.bin")
    writer.write(b"x" * 1000)
    share.wire._kill_socket()  # the link drops before close(): the file is not durable
    with pytest.raises(ConnectivityError):
        writer.close()
    share.close()
    with share:  # the same object reconnects
        share.remove("half.bin")


# -- capacity --------------------------------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path: Path):  # noqa: ANN201
    """A 4 MiB tmpfs (needs root and mount rights; skipped without them)."""
    import subprocess

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                          capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.samba
def test_disk_full_is_share_capacity(tiny_fs: Path) -> None:
    require_samba()
    with SambaServer(tiny_fs, users={USER: PASSWORD}) as srv:
        with SmbShare(srv.unc, USER, PASSWORD, port=srv.port) as share:
            assert share.total_space() <= 4 * 1024 * 1024
            with pytest.raises(ShareCapacityError, match="disk full while writing big.bin"):
                with share.create("big.bin") as f:
                    f.write(b"\1" * (8 * 1024 * 1024))
            share.remove("big.bin")
            assert share.free_space() > 3 * 1024 * 1024
