"""start/stop: fast, and nothing left behind, even with clients connected."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from smbprotocol.open import CreateDisposition

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import PASSWORD, USER, Clients
from tests.fake_smb.test_files import _open


def _listening(port: int) -> bool:
    """True if anything on this host listens on the port (/proc/net/tcp, state 0A)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                        return True
        except FileNotFoundError:
            pass
    return False


def test_start_picks_a_port_on_loopback(share):
    srv = FakeSmbServer(share, users={USER: PASSWORD})
    srv.start()
    try:
        assert srv.host == "127.0.0.1" and srv.port > 0
        assert _listening(srv.port)
    finally:
        srv.stop()


def test_stop_with_clients_connected_is_fast_and_clean(share):
    before = set(threading.enumerate())
    srv = FakeSmbServer(share, users={USER: PASSWORD})
    started = time.monotonic()
    srv.start()
    assert time.monotonic() - started < 1.0
    port = srv.port
    clients = Clients(srv)
    try:
        c1 = clients.login()
        clients.login(dialect="2.1")
        _open(c1.tree, "open.bin", CreateDisposition.FILE_OVERWRITE_IF).write(b"x", 0)
        srv.faults.write_delay = 30  # a write parked in the delay
        msg, _ = _open(c1.tree, "slow.bin", CreateDisposition.FILE_OVERWRITE_IF).write(b"y", 0, send=False)
        c1.connection.send(msg, c1.session.session_id, c1.tree.tree_connect_id)
        time.sleep(0.1)
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 1.0
    finally:
        clients.close()
    assert not _listening(port)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.02)  # smbprotocol's own reader threads wind down
    leftover = [t.name for t in set(threading.enumerate()) - before]
    assert not leftover, leftover


def test_stop_with_a_stalled_client(share):
    srv = FakeSmbServer(share, users={USER: PASSWORD}).start()
    clients = Clients(srv)
    try:
        client = clients.login()
        fh = _open(client.tree, "x", CreateDisposition.FILE_OVERWRITE_IF)
        srv.faults.stall_after_bytes = 1
        msg, _ = fh.write(b"y", 0, send=False)
        client.connection.send(msg, client.session.session_id, client.tree.tree_connect_id)
        time.sleep(0.1)  # the connection is now black-holed
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 1.0
        assert not [t for t in threading.enumerate() if t.name.startswith("fake_smb")]
    finally:
        clients.close()


def test_context_manager_and_restart(share):
    with FakeSmbServer(share, users={USER: PASSWORD}) as srv:
        port = srv.port
        assert _listening(port)
    assert not _listening(port)
    srv.start()
    try:
        assert Clients(srv).login().session.session_id
    finally:
        srv.stop()
    srv.stop()  # idempotent


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"encryption": "sometimes"}, "encryption"),
        ({"min_dialect": "1.0"}, "dialect"),
        ({"quota_bytes": -1}, "quota"),
        ({"port": 70000}, "port"),
        ({"share_name": "a/b"}, "share name"),
    ],
)
def test_bad_arguments(share, kwargs, match):
    with pytest.raises(ValueError, match=match):
        FakeSmbServer(share, **kwargs)


def test_missing_share_dir(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        FakeSmbServer(tmp_path / "nope")
