"""Fixtures for the SMB tests: a real Samba on 127.0.0.1 and misbehaving TCP peers.

Every server here listens on 127.0.0.1 only and is stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibs.fake_smb.samba import SambaServer

USER, PASSWORD = "alice", "correct horse"


def require_samba() -> None:
    if SambaServer.available():
        return
    if os.environ.get("IBS_REQUIRE_SAMBA") == "1":
        pytest.fail("IBS_REQUIRE_SAMBA=1 but smbd/smbpasswd/nss_wrapper are missing or not root")
    pytest.skip("needs Samba smbd, smbpasswd and libnss-wrapper, as root")


@pytest.fixture(scope="module")
def samba(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaServer]:
    """One Samba per test module, encryption 'desired', serving a folder 'base' in the share."""
    require_samba()
    share_dir = tmp_path_factory.mktemp("share")
    (share_dir / "base").mkdir()
    with SambaServer(share_dir, users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def share_dir(samba: SambaServer) -> Path:
    return Path(samba.share_dir)


class Blackhole:
    """Accepts TCP connections and never answers (a stalled server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


class StallingRelay:
    """Forwards 127.0.0.1:port to a target port, and stops forwarding client->server bytes
    (without closing anything) once ``limit`` bytes have passed, like a link that goes silent."""

    def __init__(self, target_port: int, limit: int) -> None:
        self.target_port = target_port
        self.limit = limit
        self.forwarded = 0
        self.stalled = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._socks: list[socket.socket] = [self.sock]
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, target, *args) -> None:  # noqa: ANN001
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._socks += [client, upstream]
            self._spawn(self._pump, client, upstream, True)
            self._spawn(self._pump, upstream, client, False)

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        src.settimeout(0.1)
        while not self._stop.is_set():
            if counted and self.forwarded >= self.limit:
                self.stalled.set()
                self._stop.wait(0.1)  # stop reading: the client's sends back up and block
                continue
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            if counted:
                data = data[: max(0, self.limit - self.forwarded)] or data[:0]
                self.forwarded += len(data)
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        for s in self._socks:
            s.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def smb_threads() -> set[str]:
    prefixes = ("msg_worker", "smb-watchdog")
    return {t.name for t in threading.enumerate() if t.name.startswith(prefixes)}


@pytest.fixture(autouse=True)
def no_smb_threads_left() -> Iterator[None]:
    """Every test closes what it opened: no smbprotocol worker or watchdog thread lingers."""
    yield
    deadline = time.monotonic() + 3
    while smb_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not smb_threads(), f"SMB threads left running: {sorted(smb_threads())}"
