"""reject (iptables REJECT), blackhole (DROP), allow and clear."""

from __future__ import annotations

import socket

import pytest

from ibs.fake_smb.proxy import Blackhole, FaultProxy, Latency, Reject
from tests.proxy.conftest import EchoServer, recv_exactly, wait_for

SHORT = 0.3  # a socket timeout long enough to be sure nothing is coming on loopback


def echo_once(client: socket.socket, payload: bytes = b"ping") -> None:
    client.sendall(payload)
    assert recv_exactly(client, len(payload)) == payload


def test_reject_refuses_new_connections(proxy: FaultProxy) -> None:
    proxy.reject()
    with (
        pytest.raises((ConnectionRefusedError, ConnectionResetError)),
        socket.create_connection((proxy.host, proxy.port), timeout=2) as client,
    ):
        client.sendall(b"ping")
        client.recv(4)
    assert proxy.accepted == 0


def test_reject_resets_open_connections_both_ways(
    echo: EchoServer, proxy: FaultProxy, connect
) -> None:
    client = connect()
    echo_once(client)
    proxy.reject()
    with pytest.raises(ConnectionResetError):
        client.recv(4)
    wait_for(lambda: proxy.connections == [])


def test_lifting_reject_listens_again_on_the_same_port(proxy: FaultProxy, connect) -> None:
    port = proxy.port
    proxy.reject()
    proxy.allow()
    assert proxy.port == port
    echo_once(connect())
    proxy.set_toxics(Reject())
    proxy.clear()
    echo_once(connect())


def test_blackhole_accepts_but_never_answers(echo: EchoServer, proxy: FaultProxy, connect) -> None:
    proxy.blackhole()
    client = connect(timeout=SHORT)  # the connect itself succeeds
    client.sendall(b"anyone there?")
    with pytest.raises(TimeoutError):
        client.recv(10)
    assert echo.accepted == 0  # the server never even saw the connection
    assert [i.reaches_server for i in proxy.connections] == [False]
    proxy.allow()
    echo_once(connect())  # new connections are forwarded again


def test_blackhole_swallows_traffic_on_open_connections(
    echo: EchoServer, proxy: FaultProxy, connect
) -> None:
    client = connect(timeout=SHORT)
    echo_once(client)
    proxy.blackhole()
    client.sendall(b"lost")
    with pytest.raises(TimeoutError):
        client.recv(10)
    proxy.allow()
    echo_once(client, b"back")  # the same connection forwards again; "lost" stays lost
    assert bytes(echo.received[0]) == b"pingback"


def test_firewall_calls_keep_link_toxics(proxy: FaultProxy) -> None:
    latency = Latency(seconds=0.01)
    proxy.set_toxics(latency)
    proxy.reject()
    assert proxy.toxics == (Reject(), latency)
    proxy.blackhole()
    assert proxy.toxics == (Blackhole(), latency)
    proxy.allow()
    assert proxy.toxics == (latency,)
    proxy.clear()
    assert proxy.toxics == ()


def test_a_bad_toxic_set_changes_nothing(proxy: FaultProxy) -> None:
    proxy.reject()
    with pytest.raises(ValueError):
        proxy.set_toxics(Latency(seconds=1), Latency(seconds=2))
    assert proxy.toxics == (Reject(),)


def test_reject_set_before_start_applies_from_the_first_connection(echo: EchoServer) -> None:
    proxy = FaultProxy(upstream_port=echo.port)
    proxy.reject()
    with proxy:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((proxy.host, proxy.port), timeout=2).close()
        proxy.clear()
        with socket.create_connection((proxy.host, proxy.port), timeout=2) as client:
            echo_once(client)
