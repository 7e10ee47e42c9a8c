"""Running a role's read -> seal stages ahead of the writer, in threads, with bounded memory.

The writer stays in the caller's thread and receives sealed records one by one, so a job still
advances in steps the caller controls. With ``threads=False`` (the simulator, whose runs must
be deterministic) every stage runs inline in the caller's thread; the bytes written are the
same either way. Buffers come from fixed pools, so memory does not grow with the data size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine.entries import Chunk

_POLL = 0.05  # how often a blocked stage looks for cancellation


class Cancelled(Exception):
    pass


class BufferPool:
    def __init__(self, size: int, count: int, stop: threading.Event | None = None) -> None:
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(count):
            self._free.put(bytearray(size))
        self._stop = stop

    def get(self) -> bytearray:
        while True:
            try:
                return self._free.get(timeout=_POLL)
            except queue.Empty:
                if self._stop is not None and self._stop.is_set():
                    raise Cancelled() from None

    def put(self, buf: bytearray) -> None:
        self._free.put(buf)


@dataclass(slots=True)
class Record:
    """A sealed chunk, ready to write; ``release`` returns its buffer to the pool."""

    chunk_index: int
    plain_length: int
    view: memoryview
    release: Callable[[], None]


Seal = Callable[[Chunk, bytearray], int]
ChunkSource = Callable[[Callable[[], bytearray]], Iterator[Chunk]]


def sealed_records(chunks: ChunkSource, seal: Seal, chunk_size: int, record_size: int,
                   threads: bool, depth: int = 3) -> Iterator[Record]:
    """Yield sealed records in order. Exceptions from any stage surface here, in the caller."""
    if not threads:
        yield from _inline(chunks, seal, chunk_size, record_size)
    else:
        yield from _threaded(chunks, seal, chunk_size, record_size, depth)


def _inline(chunks: ChunkSource, seal: Seal, chunk_size: int, record_size: int) -> Iterator[Record]:
    plain = bytearray(chunk_size)
    out = bytearray(record_size)
    for chunk in chunks(lambda: plain):
        n = seal(chunk, out)
        yield Record(chunk.index, chunk.length, memoryview(out)[:n], lambda: None)


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


def _threaded(chunks: ChunkSource, seal: Seal, chunk_size: int, record_size: int,
              depth: int) -> Iterator[Record]:
    stop = threading.Event()
    plain_pool = BufferPool(chunk_size, depth + 2, stop)
    out_pool = BufferPool(record_size, depth + 2, stop)
    to_seal: queue.Queue[object] = queue.Queue(maxsize=depth)
    to_write: queue.Queue[object] = queue.Queue(maxsize=depth)

    def put(q: queue.Queue[object], item: object) -> None:
        while True:
            try:
                q.put(item, timeout=_POLL)
                return
            except queue.Full:
                if stop.is_set():
                    raise Cancelled() from None

    def get(q: queue.Queue[object]) -> object:
        while True:
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                if stop.is_set():
                    raise Cancelled() from None

    def read_stage() -> None:
        try:
            for chunk in chunks(plain_pool.get):
                put(to_seal, chunk)
            put(to_seal, _DONE)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the caller, who re-raises it
            try:
                put(to_seal, _Failed(exc))
            except Cancelled:
                pass

    def seal_stage() -> None:
        try:
            while True:
                item = get(to_seal)
                if not isinstance(item, Chunk):
                    put(to_write, item)
                    return
                out = out_pool.get()
                n = seal(item, out)
                plain_pool.put(item.buffer)
                put(to_write, (item.index, item.length, out, n))
        except Cancelled:
            pass
        except BaseException as exc:
            try:
                put(to_write, _Failed(exc))
            except Cancelled:
                pass

    workers = [threading.Thread(target=read_stage, name="ibs-read", daemon=True),
               threading.Thread(target=seal_stage, name="ibs-seal", daemon=True)]
    for w in workers:
        w.start()
    try:
        while True:
            item = to_write.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            index, length, out, n = item  # type: ignore[misc]
            yield Record(index, length, memoryview(out)[:n], lambda out=out: out_pool.put(out))
    finally:
        stop.set()
        for w in workers:
            w.join()
