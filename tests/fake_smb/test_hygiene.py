"""Resource hygiene (issue 11): every open, tree and session is let go of.

The server runs in this process, so its descriptors are ours: a client that
vanishes without CLOSE must leave /proc/self/fd as it found it, and a
delete-on-close file must be gone once its connection is.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

import pytest
from smbprotocol.connection import Connection, Dialects
from smbprotocol.exceptions import SMBException
from smbprotocol.open import CreateDisposition, CreateOptions
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import PASSWORD, USER, Client
from tests.fake_smb.test_files import _open

# A connection's descriptors on the server: its socket and its opens. Once every client is
# gone the count may differ from the start by a few (a socket the kernel is still tearing
# down, pytest's own files), never by one per connection.
SLACK = 4
DELETE_ON_CLOSE = CreateOptions.FILE_NON_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _deleted_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").endswith(" (deleted)")
        except OSError:
            pass  # closed while we looked
    return count


def _share_fds(share) -> int:
    """Descriptors open on something in the share (or deleted from it)."""
    roots = {str(share), os.path.realpath(share)}
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += any(target == r or target.startswith(r + os.sep) for r in roots)
    return count


def _settle(at_most: int, timeout: float = 5.0) -> int:
    """Wait until the server's connection threads have let go; the descriptor count."""
    deadline = time.monotonic() + timeout
    while _fds() > at_most and time.monotonic() < deadline:
        time.sleep(0.02)
    return _fds()


def _login(server: FakeSmbServer, dialect=Dialects.SMB_2_0_2) -> Client:
    # 2.0.2 without encryption: the cheapest real logon smbprotocol makes (about 13 ms).
    conn = Connection(uuid.uuid4(), server.host, server.port, require_signing=False)
    conn.connect(dialect=dialect, timeout=5)
    session = Session(conn, USER, PASSWORD, require_encryption=False, auth_protocol="ntlm")
    session.connect()
    tree = TreeConnect(session, server.unc)
    tree.connect()
    return Client(conn, session, tree)


# -- ways for a client to vanish without CLOSE, TREE_DISCONNECT or LOGOFF -----------------
def _fin(client: Client) -> None:
    """An orderly TCP close (FIN) and nothing more: smbprotocol's disconnect without LOGOFF."""
    client.connection.disconnect(close=False)


def _rst(client: Client) -> None:
    """An abortive close (RST), as when a client's socket is torn down under it."""
    transport = client.connection.transport
    sock = transport._sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # smbprotocol's reader thread shuts the socket down (a FIN) on its way out; keep it from
    # that, wake it with SHUT_RD (which sends nothing on Linux), then close with linger 0.
    transport.close = lambda: None
    sock.shutdown(socket.SHUT_RD)
    client.connection._t_worker.join(timeout=2)
    transport.connected = False
    sock.close()


def _mid_frame(client: Client) -> None:
    """Half a request, then gone: the server is in the middle of reading a frame."""
    client.connection.transport._sock.sendall(b"\x00\x00\x01")
    client.connection.disconnect(close=False)


VANISH = (_fin, _rst, _mid_frame)


def test_a_thousand_connections_vanishing_without_close_leave_no_descriptor(server, share):
    baseline = _fds()
    for i in range(1000):
        client = _login(server)
        delete = i % 10 == 0
        _open(client.tree, f"f{i}", CreateDisposition.FILE_OVERWRITE_IF,
              DELETE_ON_CLOSE if delete else CreateOptions.FILE_NON_DIRECTORY_FILE)
        VANISH[i % len(VANISH)](client)
    after = _settle(baseline + SLACK)
    assert after <= baseline + SLACK, (
        f"{after - baseline} descriptors left after 1000 vanished connections "
        f"({_deleted_fds()} on deleted files)"
    )
    assert sorted(os.listdir(share)) == sorted(f"f{i}" for i in range(1000) if i % 10)


def test_tree_disconnect_releases_that_trees_opens_only(server, share):
    client = _login(server)
    other = TreeConnect(client.session, server.unc)
    other.connect()
    kept = _open(other, "kept.bin", CreateDisposition.FILE_OVERWRITE_IF)
    for i in range(20):
        _open(client.tree, f"f{i}", CreateDisposition.FILE_OVERWRITE_IF)
    _open(client.tree, "doc.bin", CreateDisposition.FILE_OVERWRITE_IF, DELETE_ON_CLOSE)
    assert _share_fds(share) == 22
    client.tree.disconnect()
    assert _share_fds(share) == 1  # answered after the release, so no waiting
    assert not (share / "doc.bin").exists()
    kept.write(b"still open", 0)  # the other tree's open is untouched
    assert (share / "kept.bin").read_bytes() == b"still open"
    kept.close()
    assert _share_fds(share) == 0
    client.connection.disconnect(close=False)  # smbprotocol would CLOSE the released opens


def test_logoff_releases_the_sessions_opens_and_trees(server, share):
    client = _login(server)
    handles = [_open(client.tree, f"f{i}", CreateDisposition.FILE_OVERWRITE_IF) for i in range(20)]
    _open(client.tree, "doc.bin", CreateDisposition.FILE_OVERWRITE_IF, DELETE_ON_CLOSE)
    assert _share_fds(share) == 21
    client.session.disconnect(close=False)  # LOGOFF alone: no CLOSE, no TREE_DISCONNECT
    assert _share_fds(share) == 0
    assert not (share / "doc.bin").exists()
    # A new session on the same connection, even one given the same tree id again,
    # cannot reach the old opens.
    session = Session(client.connection, USER, PASSWORD, require_encryption=False, auth_protocol="ntlm")
    session.connect()
    tree = TreeConnect(session, server.unc)
    tree.connect()
    msg, _ = handles[0].write(b"x", 0, send=False)
    request = client.connection.send(msg, session.session_id, tree.tree_connect_id)
    with pytest.raises(SMBException):
        client.connection.receive(request, timeout=5)
    assert (share / "f0").read_bytes() == b""
    client.connection.disconnect(close=False)


_CHILD = """
import sys, time, uuid
from smbprotocol.connection import Connection, Dialects
from smbprotocol.open import (CreateDisposition, CreateOptions, FilePipePrinterAccessMask,
                              ImpersonationLevel, Open, ShareAccess)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

host, port, user, password, unc, name = sys.argv[1:]
conn = Connection(uuid.uuid4(), host, int(port), require_signing=False)
conn.connect(dialect=Dialects.SMB_2_0_2, timeout=5)
session = Session(conn, user, password, require_encryption=False, auth_protocol="ntlm")
session.connect()
tree = TreeConnect(session, unc)
tree.connect()
fh = Open(tree, name)
fh.create(ImpersonationLevel.Impersonation, FilePipePrinterAccessMask.GENERIC_ALL, 0,
          ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
          CreateDisposition.FILE_OVERWRITE_IF,
          CreateOptions.FILE_NON_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE)
fh.write(b"x" * 1000, 0)
print("open", flush=True)
time.sleep(60)
"""


def _killed(server: FakeSmbServer, name: str) -> None:
    """A client process that holds the open and is killed (SIGKILL) by the test."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, server.host, str(server.port), USER, PASSWORD, server.unc, name],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "open"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()


@pytest.mark.parametrize("how", ["fin", "rst", "killed"])
def test_a_delete_on_close_file_goes_with_its_connection(server, share, how):
    if how == "killed":
        _killed(server, "doc.bin")
    else:
        client = _login(server, Dialects.SMB_3_1_1)
        _open(client.tree, "doc.bin", CreateDisposition.FILE_OVERWRITE_IF, DELETE_ON_CLOSE).write(b"x" * 1000, 0)
        assert (share / "doc.bin").exists()
        {"fin": _fin, "rst": _rst}[how](client)
    deadline = time.monotonic() + 5
    while (share / "doc.bin").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not (share / "doc.bin").exists()
    assert _share_fds(share) == 0


def test_a_create_that_fails_after_opening_keeps_no_descriptor(server, share, monkeypatch):
    # Overwriting a read-only file: opened O_RDONLY, the truncate then fails. As root the
    # open itself would not fall back, so the refusal is staged.
    (share / "ro.bin").write_bytes(b"old")

    def refuse(fd, length):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "ftruncate", refuse)
    client = _login(server)
    with pytest.raises(SMBException):
        _open(client.tree, "ro.bin", CreateDisposition.FILE_OVERWRITE_IF)
    assert _share_fds(share) == 0
    client.connection.disconnect(close=False)
