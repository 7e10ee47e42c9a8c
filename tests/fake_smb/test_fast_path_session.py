"""The fast path (fake_smb/fast_path.py) answers only for the session it was sent on.

READ, WRITE, CREATE, CLOSE, QUERY_DIRECTORY and some IOCTLs skip impacket's dispatcher; a
request naming a session that is not this connection's (another connection's, one that never
was) must still be refused USER_SESSION_DELETED, as Samba refuses it, and not be carried out
with the connection's own session.  Each case runs against fake_smb and a real smbd.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibs.fake_smb.samba import SambaServer
from tests.fake_smb.conftest import PASSWORD, USER
from tests.fake_smb.test_session import STATUS_SUCCESS, STATUS_USER_SESSION_DELETED, RawClient
from tests.smb.conftest import require_samba

CONTENT = b"only for the session that opened it"
WRITE, CLOSE = 9, 6
STATUS_PENDING = 0x00000103


@pytest.fixture(scope="module")
def samba_2x(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaServer]:
    """A real smbd that speaks SMB 2.1, which RawClient uses unsigned (samba_peer starts at 3.0)."""
    require_samba()
    with SambaServer(tmp_path_factory.mktemp("samba-share"), users={USER: PASSWORD},
                     min_protocol="SMB2_02") as samba:
        yield samba


@pytest.fixture(params=["fake_smb", "samba"])
def target(request, server, share):
    """(port, share UNC, share folder) of the server under test."""
    if request.param == "fake_smb":
        return server.port, server.unc, share
    samba = request.getfixturevalue("samba_2x")
    return samba.port, samba.unc, Path(samba.share_dir)


@pytest.fixture
def two_logons(target):
    port, unc, folder = target
    (folder / "kept.txt").write_bytes(CONTENT)
    clients = []
    for _ in range(2):
        client = RawClient(port)
        clients.append(client)
        assert client.negotiate_2_1() == STATUS_SUCCESS
        assert client.logon() == STATUS_SUCCESS
        client.tree_connect(unc)
    yield clients
    for client in clients:
        client.close()


def _read(client: RawClient, file_id: bytes) -> tuple[int, bytes]:
    """READ through an interim STATUS_PENDING (smbd answers a READ asynchronously at times)."""
    status, data = client.read(file_id, len(CONTENT))
    while status == STATUS_PENDING:
        head = client.sock.recv(4, socket.MSG_WAITALL)
        reply = client.sock.recv(int.from_bytes(head[1:], "big"), socket.MSG_WAITALL)
        status = struct.unpack_from("<I", reply, 8)[0]
        offset, count = reply[64 + 2], struct.unpack_from("<I", reply, 64 + 4)[0]
        data = reply[offset : offset + count] if status == STATUS_SUCCESS else b""
    return status, data


def _with_session(client: RawClient, session_id: int, call):
    own = client.session_id
    client.session_id = session_id
    try:
        return call()
    finally:
        client.session_id = own


def _write(client: RawClient, file_id: bytes, data: bytes) -> int:
    body = struct.pack("<HHIQ16sIIHHI", 49, 112, len(data), 0, file_id, 0, 0, 0, 0, 0) + data
    return client.call(WRITE, body)[0]


@pytest.mark.parametrize("foreign", ["other connection's", "never issued"])
def test_read_naming_a_foreign_session_is_user_session_deleted(two_logons, foreign):
    mine, other = two_logons
    file_id = mine.open("kept.txt")
    session_id = other.session_id if foreign == "other connection's" else mine.session_id ^ 0x5A5A0000
    status, _ = _with_session(mine, session_id, lambda: _read(mine, file_id))
    assert status == STATUS_USER_SESSION_DELETED
    assert _read(mine, file_id) == (STATUS_SUCCESS, CONTENT)  # its own session still reads


def test_write_and_close_naming_another_connections_session_change_nothing(two_logons, target):
    mine, other = two_logons
    file_id = mine.open("kept.txt")
    assert _with_session(mine, other.session_id, lambda: _write(mine, file_id, b"XXXX")) == \
        STATUS_USER_SESSION_DELETED
    close = struct.pack("<HHI16s", 24, 0, 0, file_id)
    assert _with_session(mine, other.session_id, lambda: mine.call(CLOSE, close)[0]) == \
        STATUS_USER_SESSION_DELETED
    assert _read(mine, file_id) == (STATUS_SUCCESS, CONTENT)  # not written, not closed
    assert (target[2] / "kept.txt").read_bytes() == CONTENT
