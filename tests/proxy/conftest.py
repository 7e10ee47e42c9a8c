"""A tiny threaded echo server on 127.0.0.1 as the proxy's upstream, and client helpers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from ibs.fake_smb.proxy import FaultProxy


class EchoServer:
    """Echoes every byte back and records what each connection received, in accept order."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.received: list[bytearray] = []
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name="echo-accept", daemon=True)
        self._acceptor.start()

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self.received)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # stop() shut the listener down
                return
            with self._lock:
                record = bytearray()
                self.received.append(record)
                self._conns.append(conn)
                thread = threading.Thread(
                    target=self._echo, args=(conn, record), name="echo-conn", daemon=True
                )
                self._threads.append(thread)
            thread.start()

    def _echo(self, conn: socket.socket, record: bytearray) -> None:
        try:
            while data := conn.recv(65536):
                record += data
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:  # reset by the proxy: the very thing some tests provoke
            pass

    def stop(self) -> None:
        # shutdown() wakes a thread blocked in accept()/recv() on Linux; close after joining.
        self._listener.shutdown(socket.SHUT_RDWR)
        self._acceptor.join()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join()
        for conn in conns:
            conn.close()
        self._listener.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy(upstream_port=echo.port, seed=7) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def connect(proxy: FaultProxy) -> Iterator[Callable[..., socket.socket]]:
    """Open client connections to the proxy; all are closed at teardown."""
    opened: list[socket.socket] = []

    def _connect(timeout: float = 2.0) -> socket.socket:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
        opened.append(sock)
        return sock

    yield _connect
    for sock in opened:
        sock.close()


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def recv_until_eof(sock: socket.socket) -> bytes:
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    return bytes(data)


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
