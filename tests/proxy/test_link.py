"""Latency with jitter, the bandwidth cap, and reset after N bytes."""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

from ibs.fake_smb.proxy import Bandwidth, FaultProxy, Latency, ResetAfterBytes, Stream
from ibs.fake_smb.proxy_connection import _Pipe
from tests.proxy.conftest import EchoServer, recv_exactly


def round_trip(client: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    client.sendall(payload)
    assert recv_exactly(client, len(payload)) == payload
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("stream", "legs"), [(Stream.UPSTREAM, 1), (Stream.DOWNSTREAM, 1), (Stream.BOTH, 2)]
)
def test_latency_delays_each_direction_it_covers(proxy: FaultProxy, connect, stream, legs) -> None:
    proxy.set_toxics(Latency(seconds=0.15, stream=stream))
    client = connect()
    assert round_trip(client) >= 0.15 * legs
    proxy.clear()
    assert round_trip(client) < 0.15  # applies to an open connection at once


def test_latency_with_jitter_stays_within_bounds(proxy: FaultProxy, connect) -> None:
    proxy.set_toxics(Latency(seconds=0.1, jitter=0.05, stream="upstream"))
    client = connect()
    assert all(round_trip(client) >= 0.05 for _ in range(4))


def test_jitter_is_reproducible_and_keeps_order() -> None:
    # The proxy seeds one Random per (seed, connection, direction); same seed, same delays.
    latency = Latency(seconds=0.1, jitter=0.09)
    dues = []
    for _ in range(2):
        pipe = _Pipe(Stream.UPSTREAM, None, None, random.Random("7/1/up"))  # type: ignore[arg-type]
        for i in range(50):
            pipe.enqueue(b"x", latency, now=float(i) * 0.01)
        dues.append([due for due, _ in pipe.queue])
    assert dues[0] == dues[1]
    assert dues[0] == sorted(dues[0])  # a short draw never lets a chunk overtake another
    assert len(set(round(d - i * 0.01, 9) for i, d in enumerate(dues[0]))) > 1  # jitter varies


def test_bandwidth_caps_throughput(proxy: FaultProxy, connect) -> None:
    size, rate = 200_000, 100_000
    proxy.set_toxics(Bandwidth(rate=rate, stream="upstream"))
    client = connect(timeout=10)
    payload = random.Random(1).randbytes(size)
    started = time.monotonic()
    sender = threading.Thread(target=client.sendall, args=(payload,))
    sender.start()
    try:
        echoed = recv_exactly(client, size)
    finally:
        sender.join()
    elapsed = time.monotonic() - started
    assert echoed == payload
    assert 1.5 <= elapsed < 6.0  # ~2 s expected; the upper bound only catches a broken cap
    assert proxy.connections[0].bytes_upstream == size


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_reset_after_bytes(echo: EchoServer, proxy: FaultProxy, connect, stream) -> None:
    limit = 1000
    proxy.set_toxics(ResetAfterBytes(limit=limit, stream=stream))
    client = connect()
    client.sendall(b"z" * 5000)
    received = bytearray()
    with pytest.raises(ConnectionResetError):
        while chunk := client.recv(65536):
            received += chunk
    if stream == "downstream":
        # Linux hands over the bytes queued before the RST, then reports the reset.
        assert len(received) == limit
        assert proxy.bytes_downstream == limit
    else:
        assert len(received) <= limit
        assert proxy.bytes_upstream == limit
        # The server may not even have accepted before the RST hit; if it did, it saw <= N.
        assert all(len(r) <= limit for r in echo.received)


def test_reset_after_bytes_added_late_resets_at_once(proxy: FaultProxy, connect) -> None:
    client = connect()
    assert round_trip(client, b"y" * 500) < 1
    proxy.set_toxics(ResetAfterBytes(limit=100, stream="downstream"))
    with pytest.raises(ConnectionResetError):
        client.recv(10)
