"""Running a role's read -> open stages ahead of the consumer, in threads, with bounded memory.

The restore side of ``engine.pipeline``: one thread reads records (and hashes them, in file
order), one authenticates and decrypts them into pooled buffers, and the caller's thread gets
the results one by one, in order. Any exception raised by a stage is re-raised in the caller,
after every result that came before it, so errors surface exactly where the inline path would
raise them. With ``threads=False`` every stage runs inline in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from engine.pipeline import _DONE, _POLL, BufferPool, Cancelled, _Failed


class HasBuffer(Protocol):
    buffer: bytearray


T = TypeVar("T", bound=HasBuffer)
U = TypeVar("U")
Release = Callable[[], None]


def _noop() -> None:
    pass


def staged(produce: Callable[[Callable[[], bytearray]], Iterator[T]],
           transform: Callable[[T, bytearray], U], in_size: int, out_size: int,
           threads: bool, depth: int = 1) -> Iterator[tuple[T, U, Release]]:
    """Yield ``(item, transform(item, out), release)`` in order.

    ``produce(acquire)`` yields items that each hold a buffer from ``acquire`` in ``.buffer``;
    ``transform`` writes into ``out``, a buffer of ``out_size`` bytes, and its result stays
    valid until ``release()`` is called (or, inline, until the next item is requested).
    """
    if not threads:
        yield from _inline(produce, transform, in_size, out_size)
    else:
        yield from _threaded(produce, transform, in_size, out_size, depth)


def _inline(produce, transform, in_size: int, out_size: int):  # noqa: ANN001, ANN202
    a = bytearray(in_size)
    b = bytearray(out_size)
    for item in produce(lambda: a):
        yield item, transform(item, b), _noop


def _threaded(produce, transform, in_size: int, out_size: int, depth: int):  # noqa: ANN001, ANN202
    stop = threading.Event()
    in_pool = BufferPool(in_size, depth + 2, stop)
    out_pool = BufferPool(out_size, depth + 2, stop)
    to_transform: queue.Queue[object] = queue.Queue(maxsize=depth)
    to_caller: queue.Queue[object] = queue.Queue(maxsize=depth)

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

    def fail(q: queue.Queue[object], exc: BaseException) -> None:
        try:
            put(q, _Failed(exc))
        except Cancelled:
            pass

    def read_stage() -> None:
        try:
            for item in produce(in_pool.get):
                put(to_transform, item)
            put(to_transform, _DONE)
        except Cancelled:
            pass
        except BaseException as exc:  # handed on, in order, to the caller, who re-raises it
            fail(to_transform, exc)

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
                    in_pool.put(item.buffer)  # type: ignore[attr-defined]
                put(to_caller, (item, result, out))
        except Cancelled:
            pass
        except BaseException as exc:
            fail(to_caller, exc)

    workers = [threading.Thread(target=read_stage, name="ibs-restore-read", daemon=True),
               threading.Thread(target=transform_stage, name="ibs-restore-open", daemon=True)]
    for w in workers:
        w.start()
    try:
        while True:
            got = to_caller.get()
            if got is _DONE:
                return
            if isinstance(got, _Failed):
                raise got.exc
            item, result, out = got  # type: ignore[misc]
            yield item, result, (lambda out=out: out_pool.put(out))
    finally:
        stop.set()
        for w in workers:
            w.join()
