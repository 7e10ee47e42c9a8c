"""Fixtures for the conformance suite: the same engine tests against fake_smb and real Samba.

Every server listens on 127.0.0.1 only and is stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.store import Store
from ibs.fake_smb import FakeSmbServer
from ibs.fake_smb.samba import SambaServer
from tests.engine.conftest import T0, cert_pair, make_tree  # noqa: F401 - cert_pair is a fixture
from tests.smb.conftest import no_smb_threads_left, require_samba  # noqa: F401 - autouse fixture

USER, PASSWORD = "alice", "conformance-pw-1"
MARKER = b"IBS-CONFORMANCE-PLAINTEXT-MARKER"
CHUNK = 65536


@dataclass
class Server:
    """One SMB server as the engine sees it: a UNC path to a fresh folder, credentials, a port."""

    kind: str  # "fake" or "samba"
    impl: FakeSmbServer | SambaServer
    share_dir: Path
    folder: str
    user: str = USER
    password: str = PASSWORD
    _stop: list[Callable[[], None]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.impl.port

    @property
    def unc(self) -> str:
        return f"\\\\127.0.0.1\\{self.impl.share_name}\\{self.folder}"

    @property
    def folder_dir(self) -> Path:
        return self.share_dir / self.folder

    @property
    def backup_root(self) -> Path:
        return self.folder_dir / "MASBackup"

    def set_server_password(self, password: str) -> None:
        if isinstance(self.impl, FakeSmbServer):
            self.impl.set_user(self.user, password)
        else:
            self.impl.set_password(self.user, password)


def _new_folder(share_dir: Path) -> str:
    folder = f"f{uuid.uuid4().hex[:8]}"
    (share_dir / folder).mkdir()
    return folder


def start_fake(share_dir: Path, **kw) -> FakeSmbServer:
    srv = FakeSmbServer(share_dir, users={USER: PASSWORD}, **kw)
    srv.start()
    return srv


def start_samba(share_dir: Path, **kw) -> SambaServer:
    require_samba()
    srv = SambaServer(share_dir, users={USER: PASSWORD}, **kw)
    srv.start()
    return srv


@pytest.fixture(scope="module")
def samba_default(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaServer]:
    """One default Samba (encryption 'desired', SMB 3.0-3.1.1) per module; tests use fresh folders."""
    require_samba()
    share_dir = tmp_path_factory.mktemp("samba-share")
    srv = start_samba(share_dir)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(params=["fake", pytest.param("samba", marks=pytest.mark.samba)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "fake":
        share_dir = tmp_path / "share"
        share_dir.mkdir()
        srv = start_fake(share_dir)
        try:
            yield Server("fake", srv, share_dir, _new_folder(share_dir))
        finally:
            srv.stop()
    else:
        srv = request.getfixturevalue("samba_default")
        share_dir = Path(srv.share_dir)
        info = Server("samba", srv, share_dir, _new_folder(share_dir))
        try:
            yield info
        finally:
            # The module-wide Samba must leave each test with the standard password.
            if srv.users.get(USER) != PASSWORD:
                srv.set_password(USER, PASSWORD)


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[Server]:
    share_dir = tmp_path / "share"
    share_dir.mkdir()
    srv = start_fake(share_dir)
    try:
        yield Server("fake", srv, share_dir, _new_folder(share_dir))
    finally:
        srv.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    """Two roles; every file carries MARKER in clear so plaintext on the share is easy to spot."""
    return {
        "CA": make_tree(tmp_path / "src" / "CA", {
            "ca.db": MARKER + b"\n" + b"certificate authority " * 2000,
            "sub/notes.txt": MARKER * 10,
        }),
        "ECE": make_tree(tmp_path / "src" / "ECE", {
            "cfg/ece.json": b'{"marker": "' + MARKER + b'"}',
            "blob": MARKER + os.urandom(150_000),
        }),
    }


@dataclass
class Rig:
    ctl: Controller
    clock: ManualClock
    server: Server
    sources: dict[str, Path]
    tmp: Path


def make_rig(tmp_path: Path, server: Server, sources: dict[str, Path], cert: bytes,
             **controller_kw) -> Rig:
    clock = ManualClock(T0)
    ctl = Controller(Store(str(tmp_path / "store")), clock, chunk_size=CHUNK, **controller_kw)
    ctl.configure(path=server.unc, username=server.user, password=server.password,
                  smb_port=server.port, cert=cert,
                  sources={k: str(v) for k, v in sources.items()})
    return Rig(ctl, clock, server, sources, tmp_path)
