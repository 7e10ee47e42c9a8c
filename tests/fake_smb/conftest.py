"""Fixtures: a FakeSmbServer per test and smbprotocol clients bound to it.

Every client object is created per test and closed at teardown; smbclient is
only used with an explicit per-test connection cache.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import smbclient
from smbprotocol.connection import Connection, Dialects
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer
from ibs.fake_smb.samba import SambaServer
from tests.smb.conftest import require_samba

USER, PASSWORD = "alice", "s3cret-pw"

DIALECT_CODES = {
    "2.0.2": Dialects.SMB_2_0_2,
    "2.1": Dialects.SMB_2_1_0,
    "3.0": Dialects.SMB_3_0_0,
    "3.0.2": Dialects.SMB_3_0_2,
    "3.1.1": Dialects.SMB_3_1_1,
}


@dataclass
class Client:
    connection: Connection
    session: Session | None = None
    tree: TreeConnect | None = None


class Clients:
    """Opens low-level smbprotocol clients and closes them all at teardown."""

    def __init__(self, server: FakeSmbServer) -> None:
        self.server = server
        self._connections: list[Connection] = []

    def connect(self, dialect: str | None = None, require_signing: bool = True, **kw) -> Connection:
        conn = Connection(uuid.uuid4(), self.server.host, self.server.port, require_signing=require_signing)
        self._connections.append(conn)
        conn.connect(dialect=DIALECT_CODES[dialect] if dialect else None, timeout=5, **kw)
        return conn

    def login(self, user: str = USER, password: str = PASSWORD, dialect: str | None = None,
              require_encryption: bool = False, tree: bool = True, **kw) -> Client:
        conn = self.connect(dialect, **kw)
        session = Session(conn, user, password, require_encryption=require_encryption, auth_protocol="ntlm")
        session.connect()
        client = Client(conn, session)
        if tree:
            client.tree = TreeConnect(session, self.server.unc)
            client.tree.connect()
        return client

    def close(self) -> None:
        for conn in self._connections:
            with contextlib.suppress(Exception):  # a test may have broken it on purpose
                conn.disconnect(close=False)


@pytest.fixture
def share(tmp_path):
    d = tmp_path / "share"
    d.mkdir()
    return d


@pytest.fixture
def server(share) -> Iterator[FakeSmbServer]:
    srv = FakeSmbServer(share, users={USER: PASSWORD})
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def clients(server) -> Iterator[Clients]:
    c = Clients(server)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def smb(server):
    """smbclient bound to the server through a private connection cache.

    Yields a function that turns a share-relative path into a UNC path, and
    carries the cache as ``.cache`` for the smbclient calls.
    """
    cache: dict = {}
    smbclient.register_session(server.host, USER, PASSWORD, port=server.port,
                               connection_cache=cache, auth_protocol="ntlm")

    class Smb:
        def __init__(self) -> None:
            self.cache = cache
            self.port = server.port

        def path(self, rel: str = "") -> str:
            return f"\\\\{server.host}\\{server.share_name}" + ("\\" + rel.replace("/", "\\") if rel else "")

        def __getattr__(self, name):
            fn = getattr(smbclient, name)
            return lambda *a, **k: fn(*a, connection_cache=cache, port=server.port, **k)

    try:
        yield Smb()
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)


@pytest.fixture(scope="module")
def samba_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaServer]:
    """One real smbd per test module, for tests that hold fake_smb to the same expectations."""
    require_samba()
    with SambaServer(tmp_path_factory.mktemp("samba-share"), users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture(params=["fake_smb", pytest.param("samba", marks=pytest.mark.samba)])
def login(request):
    """Log on to the server under test, fake_smb or the module's smbd; returns a function giving
    a tree connect on a fresh connection."""
    if request.param == "fake_smb":
        peers = request.getfixturevalue("clients")
    else:
        peers = Clients(request.getfixturevalue("samba_peer"))
        request.addfinalizer(peers.close)
    return lambda: peers.login().tree
