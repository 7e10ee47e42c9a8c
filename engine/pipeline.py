"""Two stages ahead of the caller, in threads, with bounded memory: produce, then transform.

Backup produces plaintext chunks and seals them; restore reads records and opens them. The
caller (the writer, or the entry parser) stays in its own thread and takes results one by one,
in order, so a job still advances in steps the caller controls. Any exception a stage raises is
re-raised in the caller after every result that came before it, where the inline path would
raise it. With ``threads=False`` (the simulator, whose runs must be deterministic) everything
runs inline; the bytes are the same either way. Buffers come from fixed pools, so memory does
not grow with the data size.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ibs.engine.chunker import Chunk

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
    """Backup's pipeline: chunks of the entry stream, sealed into records, in order."""
    if not threads:
        # What ``staged`` does inline, without its two generators between every chunk and the
        # writer: a simulated year steps through some 16,000 chunks.
        a = bytearray(chunk_size)
        b = bytearray(record_size)
        for chunk in chunks(lambda: a):
            yield Record(chunk.index, chunk.length, memoryview(b)[: seal(chunk, b)], _noop)
        return

    def transform(chunk: Chunk, out: bytearray) -> memoryview:
        return memoryview(out)[: seal(chunk, out)]

    for chunk, view, release in staged(chunks, transform, chunk_size, record_size, threads,
                                       depth, name="backup"):
        yield Record(chunk.index, chunk.length, view, release)


@contextlib.contextmanager
def beside(work: Callable[[memoryview], object], threads: bool,
           name: str = "beside") -> Iterator[Callable[[memoryview], Callable[[], object]]]:
    """``start(view)`` begins ``work(view)`` and returns a ``wait()`` for its end.

    With ``threads``, the work runs in one thread of its own, in the order started, while the
    caller does something else with the same bytes: backup hashes each record (SHA-256 lets
    go of the GIL) while writing it, so a record costs the longer of the two, not their sum.
    Inline otherwise. ``wait()`` re-raises what the work raised.
    """
    if not threads:
        def start_inline(view: memoryview) -> Callable[[], object]:
            work(view)
            return _noop
        yield start_inline
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ibs-{name}") as pool:
        def start(view: memoryview) -> Callable[[], object]:
            return pool.submit(work, view).result
        yield start


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _End(enum.Enum):
    DONE = enum.auto()  # an enum member, so ``is`` narrows a queue item's type


_DONE = _End.DONE


class HasBuffer(Protocol):
    buffer: bytearray


T = TypeVar("T", bound=HasBuffer)
U = TypeVar("U")
Q = TypeVar("Q")
Release = Callable[[], None]


def _noop() -> None:
    pass


def staged(produce: Callable[[Callable[[], bytearray]], Iterator[T]],
           transform: Callable[[T, bytearray], U], in_size: int, out_size: int,
           threads: bool, depth: int = 1,
           name: str = "stage") -> Generator[tuple[T, U, Release], None, None]:
    """Yield ``(item, transform(item, out), release)`` in order.

    ``produce(acquire)`` yields items that each hold a buffer from ``acquire`` in ``.buffer``;
    ``transform`` writes into ``out``, a buffer of ``out_size`` bytes, and its result stays
    valid until ``release()`` is called (or, inline, until the next item is requested).
    """
    if not threads:
        yield from _inline(produce, transform, in_size, out_size)
    else:
        yield from _threaded(produce, transform, in_size, out_size, depth, name)


def _inline(produce: Callable[[Callable[[], bytearray]], Iterator[T]],
            transform: Callable[[T, bytearray], U], in_size: int,
            out_size: int) -> Iterator[tuple[T, U, Release]]:
    a = bytearray(in_size)
    b = bytearray(out_size)
    for item in produce(lambda: a):
        yield item, transform(item, b), _noop


def _threaded(produce: Callable[[Callable[[], bytearray]], Iterator[T]],
              transform: Callable[[T, bytearray], U], in_size: int, out_size: int, depth: int,
              name: str) -> Iterator[tuple[T, U, Release]]:
    stop = threading.Event()
    in_pool = BufferPool(in_size, depth + 2, stop)
    out_pool = BufferPool(out_size, depth + 2, stop)
    to_transform: queue.Queue[T | _Failed | _End] = queue.Queue(maxsize=depth)
    to_caller: queue.Queue[tuple[T, U, bytearray] | _Failed | _End] = queue.Queue(maxsize=depth)

    def put(q: queue.Queue[Q], item: Q) -> None:
        while True:
            try:
                q.put(item, timeout=_POLL)
                return
            except queue.Full:
                if stop.is_set():
                    raise Cancelled() from None

    def get(q: queue.Queue[Q]) -> Q:
        while True:
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                if stop.is_set():
                    raise Cancelled() from None

    def fail(q: queue.Queue[Q], failed: Q) -> None:
        try:
            put(q, failed)
        except Cancelled:
            pass

    def read_stage() -> None:
        try:
            for item in produce(in_pool.get):
                put(to_transform, item)
            put(to_transform, _DONE)
        except Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed on, in order, to the caller
            fail(to_transform, _Failed(exc))

    def transform_stage() -> None:
        try:
            while True:
                item = get(to_transform)
                if item is _DONE or isinstance(item, _Failed):
                    put(to_caller, item)
                    return
                out = out_pool.get()
                try:
                    result = transform(item, out)
                except BaseException:
                    out_pool.put(out)
                    raise
                finally:
                    in_pool.put(item.buffer)
                put(to_caller, (item, result, out))
        except Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - the caller re-raises it
            fail(to_caller, _Failed(exc))

    workers = [threading.Thread(target=read_stage, name=f"ibs-{name}-produce", daemon=True),
               threading.Thread(target=transform_stage, name=f"ibs-{name}-transform", daemon=True)]
    for w in workers:
        w.start()
    try:
        while True:
            got = to_caller.get()
            if got is _DONE:
                return
            if isinstance(got, _Failed):
                raise got.exc
            item, result, out = got
            yield item, result, functools.partial(out_pool.put, out)
    finally:
        stop.set()
        for w in workers:
            w.join()
