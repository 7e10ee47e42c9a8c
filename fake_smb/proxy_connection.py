"""One proxied connection: a thread that owns both sockets and pumps both directions.

The thread runs a small poll loop over the client socket, the upstream socket and a wake
socket. Only this thread closes its sockets, so there is no cross-thread close race; setters
and stop() just wake it, and it re-reads the proxy's `ToxicSet` on every turn. Each direction
is a `_Pipe`: a queue of (due time, bytes) drained as latency, the token bucket and the
reset limit allow.
"""

from __future__ import annotations

import contextlib
import errno
import random
import select
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ibs.fake_smb.proxy_toxics import Bandwidth, DirectionPlan, Latency, Stream

if TYPE_CHECKING:
    from ibs.fake_smb.proxy import FaultProxy

HOST = "127.0.0.1"
_RECV_SIZE = 65536
# Stop reading a side once this much waits for the other: a slow or throttled receiver then
# pushes back on the sender through TCP instead of growing our memory.
_MAX_QUEUED = 1 << 20
# Token bucket depth: 50 ms of traffic, small enough that a cap holds over short transfers,
# large enough that a throttled pipe wakes about 20 times a second, not per byte.
_BURST_SECONDS = 0.05
RST_LINGER = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN
_CONNECT_SECONDS = 5.0
_READ, _WRITE = select.POLLIN | select.POLLHUP | select.POLLERR, select.POLLOUT


@dataclass(frozen=True, kw_only=True)
class ConnectionInfo:
    """A snapshot of one open connection."""

    id: int
    client: tuple[str, int]
    bytes_upstream: int
    bytes_downstream: int
    reaches_server: bool  # False when accepted under a blackhole


@dataclass(frozen=True, kw_only=True)
class ProxyEvent:
    """What the `events` hook receives: accepted, closed, reset (with the reason)."""

    kind: str
    connection: int
    detail: str = ""


class _Reset(Exception):
    """Raised inside a connection thread: reset both peers, for the reason given."""


def poll_sockets(
    reads: list[socket.socket], writes: list[socket.socket], timeout: float | None
) -> tuple[set[int], set[int]]:
    # poll, not select: no FD_SETSIZE limit in a long test run. HUP/ERR count as both ready,
    # so the following recv/send meets the error instead of us polling it again.
    masks: dict[int, int] = {}
    for sock, mask in [(s, _READ) for s in reads] + [(s, _WRITE) for s in writes]:
        masks[sock.fileno()] = masks.get(sock.fileno(), 0) | mask
    poller = select.poll()
    for fd, mask in masks.items():
        poller.register(fd, mask)
    # Python rounds a float millisecond timeout up, so a due time never becomes a busy 0.
    ready = poller.poll(None if timeout is None else max(timeout, 0.0) * 1000)
    readable = {fd for fd, ev in ready if ev & _READ}
    writable = {fd for fd, ev in ready if ev & (_WRITE | select.POLLHUP | select.POLLERR)}
    return readable, writable


def drain(wake: socket.socket) -> None:
    try:
        while wake.recv(4096):
            pass
    except BlockingIOError:
        pass


class _Pipe:
    """One direction of one connection: a queue of (due time, bytes) and its accounting."""

    def __init__(
        self, direction: Stream, src: socket.socket, dst: socket.socket | None, rng: random.Random
    ) -> None:
        self.direction, self.src, self.dst, self.rng = direction, src, dst, rng
        self.queue: deque[tuple[float, memoryview]] = deque()
        self.queued = 0
        self.forwarded = 0
        self.eof = False  # the source sent FIN
        self.fin_sent = False  # and we passed it on
        self.blocked = False  # the last send would block: wait until dst is writable
        self.last_due = 0.0
        self.tokens, self.refilled = 0.0, time.monotonic()

    def enqueue(self, data: bytes, latency: Latency | None, now: float) -> None:
        delay = 0.0
        if latency is not None:
            jitter = self.rng.uniform(-latency.jitter, latency.jitter) if latency.jitter else 0.0
            delay = max(0.0, latency.seconds + jitter)
        # max() with the previous due time: a short draw never lets a chunk overtake another.
        self.last_due = max(now + delay, self.last_due)
        self.queue.append((self.last_due, memoryview(data)))
        self.queued += len(data)

    def discard(self) -> None:
        self.queue.clear()
        self.queued = 0
        self.blocked = False


class Connection:
    def __init__(
        self,
        proxy: FaultProxy,
        ident: int,
        client: socket.socket,
        address: tuple[str, int],
        reaches_server: bool,
    ) -> None:
        self.proxy, self.id, self.client, self.address = proxy, ident, client, address
        self.reaches_server = reaches_server
        self.upstream: socket.socket | None = None
        self.wake_r, self.wake_w = socket.socketpair()
        for sock in (client, self.wake_r, self.wake_w):
            sock.setblocking(False)
        seed = proxy.seed
        self.pipes = [_Pipe(Stream.UPSTREAM, client, None, random.Random(f"{seed}/{ident}/up"))]
        self.thread = threading.Thread(
            target=self._run, name=f"fault-proxy-{proxy.port}-conn-{ident}", daemon=True
        )

    def wake(self) -> None:
        # OSError: full (a wake-up is already pending) or closed (the thread is ending).
        with contextlib.suppress(OSError):
            self.wake_w.send(b"\0")

    def info(self) -> ConnectionInfo:
        counts = {p.direction: p.forwarded for p in self.pipes}
        return ConnectionInfo(
            id=self.id,
            client=self.address,
            reaches_server=self.reaches_server,
            bytes_upstream=counts.get(Stream.UPSTREAM, 0),
            bytes_downstream=counts.get(Stream.DOWNSTREAM, 0),
        )

    def _run(self) -> None:
        self.proxy._emit("accepted", self.id, f"{self.address[0]}:{self.address[1]}")
        reset: str | None = None
        try:
            if self.reaches_server and not self._connect_upstream():
                reset = "server unreachable"
            else:
                self._loop()
        except _Reset as why:
            reset = str(why)
        except OSError as error:  # a peer vanished in a way the loop did not expect
            reset = f"{type(error).__name__}: {error}"
        finally:
            for sock in (self.client, self.upstream):
                if sock is not None:
                    if reset is not None:
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RST_LINGER)
                    sock.close()
            self.proxy._forget(self)
            self.wake_r.close()
            self.wake_w.close()
            self.proxy._emit("closed" if reset is None else "reset", self.id, reset or "")

    def _connect_upstream(self) -> bool:
        # Non-blocking connect polled with the wake socket, so stop() is never held up by a
        # server that does not answer.
        family, _, _, _, sockaddr = self.proxy._upstream_addr
        self.upstream = sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if sock.connect_ex(sockaddr) not in (0, errno.EINPROGRESS):
            return False
        deadline = time.monotonic() + _CONNECT_SECONDS
        while not self.proxy._stopping:
            _, writable = poll_sockets([self.wake_r], [sock], deadline - time.monotonic())
            drain(self.wake_r)
            if sock.fileno() in writable:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    return False
                self.pipes.append(
                    _Pipe(
                        Stream.DOWNSTREAM,
                        sock,
                        self.client,
                        random.Random(f"{self.proxy.seed}/{self.id}/down"),
                    )
                )
                self.pipes[0].dst = sock
                return True
            if time.monotonic() >= deadline:
                return False
        return True  # stopping: _loop() sees it at once and closes

    def _loop(self) -> None:
        while not self.proxy._stopping:
            toxics = self.proxy._toxics
            if toxics.reject:
                raise _Reset("reject")
            swallow = toxics.blackhole or self.upstream is None
            now = time.monotonic()
            wake_at: list[float] = []
            for pipe in self.pipes:
                if swallow:
                    pipe.discard()
                elif (at := self._flush(pipe, toxics.plan(pipe.direction), now)) is not None:
                    wake_at.append(at)
            if all(p.eof for p in self.pipes) and (swallow or all(p.fin_sent for p in self.pipes)):
                return  # both sides are done: a clean close
            reads = [p.src for p in self.pipes if not p.eof and (swallow or p.queued < _MAX_QUEUED)]
            writes = [p.dst for p in self.pipes if p.blocked and p.dst is not None]
            timeout = min(wake_at) - now if wake_at else None
            readable, writable = poll_sockets([self.wake_r, *reads], writes, timeout)
            drain(self.wake_r)
            for pipe in self.pipes:
                if pipe.dst is not None and pipe.dst.fileno() in writable:
                    pipe.blocked = False
                if pipe.src.fileno() in readable and not pipe.eof:
                    self._receive(pipe)

    def _receive(self, pipe: _Pipe) -> None:
        try:
            data = pipe.src.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError as error:
            raise _Reset(f"{pipe.direction} source: {error.strerror}") from None
        if not data:
            pipe.eof = True
            return
        toxics = self.proxy._toxics  # read after recv: data sent after a setter sees it
        if not (toxics.blackhole or self.upstream is None):
            pipe.enqueue(data, toxics.plan(pipe.direction).latency, time.monotonic())

    def _flush(self, pipe: _Pipe, plan: DirectionPlan, now: float) -> float | None:
        """Send what is due and allowed; return when to look again (None: on an event)."""
        limit = plan.reset_after.limit if plan.reset_after else None
        if limit is not None and pipe.forwarded >= limit:
            raise _Reset(f"reset_after_bytes: {pipe.forwarded} bytes {pipe.direction}")
        assert pipe.dst is not None
        while pipe.queue and not pipe.blocked:
            due, data = pipe.queue[0]
            if due > now:
                return due
            size = len(data) if limit is None else min(len(data), limit - pipe.forwarded)
            if plan.bandwidth is not None:
                size, retry_at = self._take_tokens(pipe, plan.bandwidth, size, now)
                if size == 0:
                    return retry_at
            try:
                sent = pipe.dst.send(data[:size])
            except BlockingIOError:
                sent = 0
            except OSError as error:
                raise _Reset(f"{pipe.direction} destination: {error.strerror}") from None
            pipe.forwarded += sent
            pipe.queued -= sent
            if plan.bandwidth is not None:
                pipe.tokens -= sent
            self.proxy._count(pipe.direction, sent)
            if sent == len(data):
                pipe.queue.popleft()
            else:
                pipe.queue[0] = (due, data[sent:])
            if limit is not None and pipe.forwarded >= limit:
                raise _Reset(f"reset_after_bytes: {pipe.forwarded} bytes {pipe.direction}")
            pipe.blocked = sent < size  # the kernel buffer is full: wait for POLLOUT
        if not pipe.queue and pipe.eof and not pipe.fin_sent:
            pipe.dst.shutdown(socket.SHUT_WR)  # pass the half-close on, after the data
            pipe.fin_sent = True
        return None

    @staticmethod
    def _take_tokens(pipe: _Pipe, cap: Bandwidth, size: int, now: float) -> tuple[int, float]:
        """How many bytes the bucket allows now, and if none, when to try again."""
        depth = max(cap.rate * _BURST_SECONDS, 1.0)
        pipe.tokens = min(depth, pipe.tokens + (now - pipe.refilled) * cap.rate)
        pipe.refilled = now
        want = min(size, depth)  # wait for a worthwhile batch, not for every single byte
        if pipe.tokens < want:
            return 0, now + (want - pipe.tokens) / cap.rate
        return min(size, int(pipe.tokens)), now
