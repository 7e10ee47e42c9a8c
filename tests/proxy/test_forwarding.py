"""Transparent forwarding, counters, the connection list and the events hook."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.fake_smb.proxy import FaultProxy, ProxyEvent
from tests.proxy.conftest import EchoServer, recv_exactly, recv_until_eof, wait_for

# Small enough that the echo cannot deadlock on full buffers while we are still sending.
pieces = st.lists(st.binary(min_size=1, max_size=4096), min_size=1, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # one proxy, many conns
@given(pieces=pieces)
def test_bytes_sent_in_pieces_arrive_identical_both_ways(
    echo: EchoServer, proxy: FaultProxy, pieces: list[bytes]
) -> None:
    sent = b"".join(pieces)
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as client:
        for piece in pieces:
            client.sendall(piece)
        client.shutdown(socket.SHUT_WR)  # the half-close must travel too, after the data
        assert recv_until_eof(client) == sent  # downstream, echoed back
    assert bytes(echo.received[-1]) == sent  # upstream, as the server saw it


def test_counters_and_connection_list(echo: EchoServer, proxy: FaultProxy, connect) -> None:
    first, second = connect(), connect()
    first.sendall(b"a" * 100)
    second.sendall(b"b" * 10)
    assert recv_exactly(first, 100) == b"a" * 100
    assert recv_exactly(second, 10) == b"b" * 10
    assert proxy.accepted == 2
    # The proxy counts right after its send(), which the client may beat to the finish.
    wait_for(lambda: (proxy.bytes_upstream, proxy.bytes_downstream) == (110, 110))
    infos = proxy.connections
    assert [i.id for i in infos] == [1, 2]
    assert [(i.bytes_upstream, i.bytes_downstream) for i in infos] == [(100, 100), (10, 10)]
    assert infos[0].client == first.getsockname() and infos[0].reaches_server
    first.close()
    wait_for(lambda: [i.id for i in proxy.connections] == [2])


def test_events_hook_and_unreachable_server() -> None:
    events: list[ProxyEvent] = []
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: the proxy's upstream connect is refused
    with FaultProxy(upstream_port=port, events=events.append) as proxy:
        # The reset may already meet the client's connect: with a timeout, connect polls and
        # then reads the socket's error, and a loaded machine can let the proxy reset first.
        try:
            with socket.create_connection((proxy.host, proxy.port), timeout=2) as client:
                data: bytes | None = client.recv(10)
        except ConnectionResetError:
            data = None
        assert data is None  # reset, not a clean EOF: the server could not be reached
        wait_for(lambda: len(events) == 2)
    assert [e.kind for e in events] == ["accepted", "reset"]
    assert events[1].detail == "server unreachable"


def test_a_raising_events_hook_does_not_break_forwarding(echo: EchoServer, caplog) -> None:
    def hook(event: ProxyEvent) -> None:
        raise RuntimeError("boom")

    with (
        FaultProxy(upstream_port=echo.port, events=hook) as proxy,
        socket.create_connection((proxy.host, proxy.port), timeout=2) as client,
    ):
        client.sendall(b"ping")
        assert recv_exactly(client, 4) == b"ping"
    assert "events hook failed on accepted" in caplog.text
