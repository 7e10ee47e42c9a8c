"""One SMB server seen through smbprotocol, for tests that hold fake_smb and Samba to the same
expectations: ``Peer`` opens trees on fresh connections, each test in a folder of its own (so
tests sharing the module's smbd do not meet), and ``peers`` is the body of a fixture yielding
the Peer of "fake" (a fake_smb started for the test) or "samba" (the shared ``samba_peer``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBException
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import PASSWORD, USER  # the shared samba_peer knows these


class Peer:
    """One server: trees on fresh connections, names inside this test's own folder."""

    def __init__(self, kind: str, host: str, port: int, share_name: str, share_dir: Path) -> None:
        self.kind, self.host, self.port, self.share_name = kind, host, port, share_name
        self.share_dir = share_dir
        self.folder = f"t{uuid.uuid4().hex[:8]}"
        self.dir = share_dir / self.folder
        self.dir.mkdir()
        self._connections: list[Connection] = []

    def tree(self) -> TreeConnect:
        conn = Connection(uuid.uuid4(), self.host, self.port, require_signing=True)
        self._connections.append(conn)
        conn.connect(timeout=5)
        session = Session(conn, USER, PASSWORD, auth_protocol="ntlm")
        session.connect()
        tree = TreeConnect(session, f"\\\\{self.host}\\{self.share_name}")
        tree.connect()
        return tree

    def path(self, name: str) -> str:
        return f"{self.folder}\\{name}" if name else self.folder

    def close(self) -> None:
        for conn in self._connections:
            # The test may have left the connection broken; closing the rest still matters.
            with contextlib.suppress(OSError, ValueError, SMBException):
                conn.disconnect(close=True)


def peers(kind: str, request: pytest.FixtureRequest, tmp_path: Path,
          cls: type[Peer] = Peer) -> Iterator[Peer]:
    """The body of a fixture yielding the ``cls`` Peer of ``kind``, "fake" or "samba"."""
    if kind == "fake":
        share_dir = tmp_path / "share"
        share_dir.mkdir()
        with FakeSmbServer(share_dir, users={USER: PASSWORD}) as srv:
            p = cls("fake", srv.host, srv.port, srv.share_name, share_dir)
            try:
                yield p
            finally:
                p.close()
    else:
        srv = request.getfixturevalue("samba_peer")
        p = cls("samba", srv.host, srv.port, srv.share_name, Path(srv.share_dir))
        try:
            yield p
        finally:
            p.close()
