"""Toxics toggled on an open connection; stop() with connections open."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from ibs.fake_smb.proxy import Bandwidth, FaultProxy, Latency
from tests.proxy.conftest import EchoServer, recv_exactly


def round_trip(client: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    client.sendall(payload)
    assert recv_exactly(client, len(payload)) == payload
    return time.monotonic() - started


def test_toggling_toxics_on_one_open_connection(
    echo: EchoServer, proxy: FaultProxy, connect
) -> None:
    client = connect(timeout=0.5)
    assert round_trip(client) < 0.1
    proxy.set_toxics(Latency(seconds=0.1, stream="downstream"))
    assert round_trip(client) >= 0.1
    proxy.blackhole()  # keeps the latency toxic underneath
    client.sendall(b"gone")
    with pytest.raises(TimeoutError):
        client.recv(4)
    proxy.allow()
    assert round_trip(client, b"one") >= 0.1
    proxy.set_toxics(Bandwidth(rate=20_000, stream="upstream"))
    assert round_trip(client, b"x" * 10_000) >= 0.3  # ~0.5 s at 20 kB/s, less the burst
    proxy.clear()
    assert round_trip(client) < 0.1
    assert bytes(echo.received[0]) == b"ping" * 2 + b"one" + b"x" * 10_000 + b"ping"
    proxy.reject()
    with pytest.raises(ConnectionResetError):
        client.recv(4)


def _proxy_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fault-proxy")]


def test_stop_with_open_connections_is_prompt_and_leaves_nothing() -> None:
    threads_before = set(threading.enumerate())
    fds_before = len(os.listdir("/proc/self/fd"))
    echo = EchoServer()
    proxy = FaultProxy(upstream_port=echo.port).start()
    clients: list[socket.socket] = []

    def connect() -> socket.socket:
        clients.append(socket.create_connection((proxy.host, proxy.port), timeout=2))
        return clients[-1]

    idle = connect()
    idle.sendall(b"hi")
    assert recv_exactly(idle, 2) == b"hi"
    proxy.set_toxics(Latency(seconds=30))  # data now waits in the proxy's queue
    connect().sendall(b"delayed")
    proxy.set_toxics(Bandwidth(rate=1000))  # a throttled transfer in the middle
    connect().sendall(b"t" * 50_000)
    proxy.blackhole()  # and one that never reaches the server
    connect().sendall(b"swallowed")
    time.sleep(0.1)
    assert len(proxy.connections) == 4 and len(_proxy_threads()) == 5

    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 1.0
    assert _proxy_threads() == []
    for client in clients:  # every client sees its connection end
        assert client.recv(65536) in (b"", b"hi")
        client.close()
    echo.stop()
    assert set(threading.enumerate()) == threads_before
    assert len(os.listdir("/proc/self/fd")) == fds_before
    proxy.stop()  # a second stop is harmless


def test_stop_without_start_and_restart_refused(echo: EchoServer) -> None:
    proxy = FaultProxy(upstream_port=echo.port)
    proxy.stop()
    with proxy:
        pass
    with pytest.raises(RuntimeError, match="cannot restart"):
        proxy.start()
