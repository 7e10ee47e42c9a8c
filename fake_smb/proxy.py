"""A TCP fault proxy for port 445, modelled on Toxiproxy's toxics.

One acceptor thread, and one thread per connection that owns both of its sockets and runs a
small poll loop over them (so only that thread ever closes them; no cross-thread close races).
Every thread also polls a wake socket: changing the toxics or stopping the proxy wakes them,
so nothing spins and nothing waits on a timeout to notice a change. The toxics live in one
immutable `ToxicSet` that is swapped whole, so a thread reads a consistent configuration and
re-reads it right after every wake-up: data sent after a setter returns is treated under the
new toxics.

Reject is "stop listening": new connections get ECONNREFUSED at connect(), as a Linux client
sees behind iptables REJECT; open connections are reset (RST) within milliseconds. The port
stays reserved meanwhile by a bound, non-listening SO_REUSEPORT socket, so lifting the reject
can listen again on the very same port without racing anyone for it (Linux).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from ibs.fake_smb.proxy_connection import (
    HOST,
    RST_LINGER,
    Connection,
    ConnectionInfo,
    ProxyEvent,
    drain,
    poll_sockets,
)
from ibs.fake_smb.proxy_toxics import (
    Bandwidth,
    Blackhole,
    Latency,
    Reject,
    ResetAfterBytes,
    Stream,
    Toxic,
    ToxicSet,
    resolve,
)

__all__ = [
    "Bandwidth",
    "Blackhole",
    "ConnectionInfo",
    "FaultProxy",
    "Latency",
    "ProxyEvent",
    "Reject",
    "ResetAfterBytes",
    "Stream",
    "Toxic",
]

_log = logging.getLogger(__name__)
_STOP_SECONDS = 0.9  # stop() promises "under a second"


class FaultProxy:
    """Forward 127.0.0.1:`port` to the upstream server, applying toxics on the way.

        with FaultProxy(upstream_port=smb_port, seed=1) as proxy:
            proxy.reject()      # firewall REJECT    proxy.blackhole()  # firewall DROP
            proxy.allow()       # rule lifted        proxy.clear()      # no toxic at all
            proxy.set_toxics(Latency(seconds=0.05, jitter=0.01), Bandwidth(rate=10e6))

    Setters are thread-safe and act on open connections too. Bandwidth and ResetAfterBytes
    count per connection and direction. `events`, if given, is called from the proxy's
    threads with a `ProxyEvent`; it must be quick (a raising hook is logged, not fatal).
    """

    def __init__(
        self,
        upstream_host: str = HOST,
        upstream_port: int = 445,
        *,
        listen_port: int = 0,
        seed: int = 0,
        events: Callable[[ProxyEvent], None] | None = None,
    ) -> None:
        self.upstream_host, self.upstream_port = upstream_host, upstream_port
        self.seed, self.events = seed, events
        self.host = HOST
        self._requested_port = listen_port
        self.port = 0
        self._lock = threading.Lock()
        self._toxics = ToxicSet()
        self._host = _Host(self)
        self._stopping = False
        self._holder: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._upstream_addr: tuple[Any, ...] = ()  # getaddrinfo()'s first answer, set by start()
        self._conns: dict[int, Connection] = {}
        self._threads: list[threading.Thread] = []  # connection threads not yet seen to end
        self._accepted = 0
        self._bytes = {Stream.UPSTREAM: 0, Stream.DOWNSTREAM: 0}

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        if self._holder is not None:
            raise RuntimeError("FaultProxy already started; a stopped proxy cannot restart")
        self._upstream_addr = socket.getaddrinfo(
            self.upstream_host, self.upstream_port, type=socket.SOCK_STREAM
        )[0]
        self._holder = self._bound_socket(self._requested_port)
        self.port = self._holder.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        for sock in (self._wake_r, self._wake_w):
            sock.setblocking(False)
        with self._lock:
            if not self._toxics.reject:
                self._listen()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"fault-proxy-{self.port}-accept", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listener and join every thread (well under 1 s)."""
        with self._lock:
            if self._stopping or self._acceptor is None:
                return  # never started, or already stopped
            self._stopping = True
            conns = list(self._conns.values())
        deadline = time.monotonic() + _STOP_SECONDS
        self._wake_all(conns)
        self._acceptor.join(_STOP_SECONDS)
        with self._lock:  # the acceptor may have started one more just before it ended
            conns, threads = list(self._conns.values()), [self._acceptor, *self._threads]
        self._wake_all(conns)
        # Join threads, not connections: a connection leaves _conns a moment before its
        # thread ends, and that thread must be gone too when stop() returns.
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for sock in (self._listener, self._holder, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            raise RuntimeError(f"FaultProxy.stop: threads still running: {alive}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- toxics -----------------------------------------------------------------------------
    @property
    def toxics(self) -> tuple[Toxic, ...]:
        return self._toxics.toxics

    def set_toxics(self, *toxics: Toxic) -> None:
        """Replace all toxics at once; open connections follow at once."""
        resolved = resolve(toxics)  # validate before touching anything
        with self._lock:
            was_rejecting, self._toxics = self._toxics.reject, resolved
            if self._holder is not None and not self._stopping:
                if resolved.reject and not was_rejecting and self._listener is not None:
                    # shutdown() makes the kernel refuse new SYNs now, and wakes the acceptor,
                    # which closes the socket (only that thread closes what it polls).
                    self._listener.shutdown(socket.SHUT_RDWR)
                    self._listener = None
                elif was_rejecting and not resolved.reject:
                    self._listen()
            conns = list(self._conns.values())
        self._wake_all(conns)

    def reject(self) -> None:
        """Firewall REJECT; latency/bandwidth/reset toxics stay as they are."""
        self.set_toxics(Reject(), *self._link_toxics())

    def blackhole(self) -> None:
        """Firewall DROP; latency/bandwidth/reset toxics stay as they are."""
        self.set_toxics(Blackhole(), *self._link_toxics())

    def allow(self) -> None:
        """Lift a reject or blackhole; latency/bandwidth/reset toxics stay as they are."""
        self.set_toxics(*self._link_toxics())

    def clear(self) -> None:
        """Remove every toxic."""
        self.set_toxics()

    def _link_toxics(self) -> list[Toxic]:
        return [t for t in self._toxics.toxics if not isinstance(t, Reject | Blackhole)]

    # -- counters ---------------------------------------------------------------------------
    @property
    def accepted(self) -> int:
        return self._accepted

    @property
    def bytes_upstream(self) -> int:
        return self._bytes[Stream.UPSTREAM]

    @property
    def bytes_downstream(self) -> int:
        return self._bytes[Stream.DOWNSTREAM]

    @property
    def connections(self) -> list[ConnectionInfo]:
        with self._lock:
            return [c.info() for c in sorted(self._conns.values(), key=lambda c: c.id)]

    # -- internals --------------------------------------------------------------------------
    def _bound_socket(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((HOST, port))
        return sock

    def _listen(self) -> None:  # called with the lock held
        self._listener = self._bound_socket(self.port)
        self._listener.listen(64)
        self._listener.setblocking(False)
        self._wake_acceptor()

    def _accept_loop(self) -> None:
        wake = self._wake_r
        assert wake is not None
        listener: socket.socket | None = None
        while True:
            with self._lock:
                if self._stopping:
                    break
                current = self._listener
            if listener is not None and listener is not current:
                listener.close()  # retired by a reject
            listener = current
            readable, _ = poll_sockets([wake] + ([listener] if listener else []), [], None)
            drain(wake)
            if listener is not None and listener.fileno() in readable:
                try:
                    client, address = listener.accept()
                except OSError:  # gone (reject) or the client left the queue: look again
                    continue
                self._adopt(client, address)
        if listener is not None:
            listener.close()

    def _adopt(self, client: socket.socket, address: tuple[str, int]) -> None:
        with self._lock:
            if self._stopping or self._toxics.reject:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST_LINGER)
                client.close()
                return
            self._accepted += 1
            conn = Connection(
                self._host, self._accepted, client, address, reaches_server=not self._toxics.blackhole
            )
            self._conns[conn.id] = conn
            self._threads = [t for t in self._threads if t.is_alive()] + [conn.thread]
            conn.thread.start()

    def _forget(self, conn: Connection) -> None:
        with self._lock:
            self._conns.pop(conn.id, None)

    def _count(self, direction: Stream, sent: int) -> None:
        with self._lock:
            self._bytes[direction] += sent

    def _wake_acceptor(self) -> None:
        # OSError: the buffer is full, so a wake-up is already pending.
        with contextlib.suppress(OSError):
            if self._wake_w is not None:
                self._wake_w.send(b"\0")

    def _wake_all(self, conns: list[Connection]) -> None:
        self._wake_acceptor()
        for conn in conns:
            conn.wake()

    def _emit(self, kind: str, connection: int, detail: str) -> None:
        if self.events is None:
            return
        try:
            self.events(ProxyEvent(kind=kind, connection=connection, detail=detail))
        except Exception:  # noqa: BLE001 - a broken hook must not kill a connection thread; say so loudly
            _log.exception("FaultProxy events hook failed on %s", kind)


class _Host:
    """A FaultProxy as its connections see it (proxy_connection.ProxyHost)."""

    def __init__(self, proxy: FaultProxy) -> None:
        self._proxy = proxy
        self.seed = proxy.seed

    @property
    def port(self) -> int:
        return self._proxy.port

    @property
    def upstream_address(self) -> tuple[Any, ...]:
        return self._proxy._upstream_addr

    @property
    def stopping(self) -> bool:
        return self._proxy._stopping

    @property
    def toxic_set(self) -> ToxicSet:
        return self._proxy._toxics

    def emit(self, kind: str, connection: int, detail: str) -> None:
        self._proxy._emit(kind, connection, detail)

    def forget(self, conn: Connection) -> None:
        self._proxy._forget(conn)

    def count(self, direction: Stream, sent: int) -> None:
        self._proxy._count(direction, sent)
