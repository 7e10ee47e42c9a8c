"""Cutting a role's entry stream into fixed-size plaintext chunks, each in a buffer the caller
lends (docs/FORMAT.md: "the final-chunk rule"). Sealing each chunk into a record is chunks.py.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Chunk:
    index: int
    buffer: bytearray
    length: int
    final: bool

    @property
    def data(self) -> memoryview:
        return memoryview(self.buffer)[: self.length]


class Chunker:
    """Cuts a byte stream into fixed-size chunks held in buffers from ``acquire``.

    A full chunk is held back until more bytes arrive, so the last chunk is always the one
    flagged final, even when the stream length is a multiple of the chunk size.
    """

    def __init__(self, chunk_size: int, acquire: Callable[[], bytearray]) -> None:
        self.chunk_size = chunk_size
        self._acquire = acquire
        self._buf: bytearray | None = None
        self._fill = 0
        self._index = 0
        self.total = 0

    def _cut(self, buf: bytearray) -> Chunk:
        """The full chunk in ``buf``, for the caller to yield before it takes a fresh buffer.
        Not a generator: one made per chunk only to yield it cost more than the cutting."""
        chunk = Chunk(self._index, buf, self._fill, False)
        self._index += 1
        return chunk

    def put(self, data: bytes) -> bool:
        """Copy ``data`` into the current chunk if it fits there (no chunk completes before
        it): True; else False, with nothing copied, and ``write`` takes it. Entry headers are
        small, and a generator per header was a tenth of a small role's writing."""
        n = len(data)
        if self._buf is None:
            self._buf = self._acquire()
            self._fill = 0
        fill = self._fill
        if fill + n > self.chunk_size:
            return False
        self._buf[fill : fill + n] = data
        self._fill = fill + n
        self.total += n
        return True

    def put_from(self, readinto: Callable[[memoryview], int | None], size: int) -> int | None:
        """``fill_from`` for a file that fits in the current chunk (no chunk completes before
        its end): how many bytes the reader had; None if it does not fit, nothing read."""
        if self._buf is None:
            self._buf = self._acquire()
            self._fill = 0
        fill = self._fill
        if fill + size > self.chunk_size:
            return None
        target = memoryview(self._buf)[fill : fill + size]
        got = 0
        while got < size:
            r = readinto(target[got:])
            if not r:
                target[got:] = bytes(size - got)
                break
            got += r
        self._fill = fill + size
        self.total += size
        return got

    def write(self, data: bytes | memoryview) -> Iterator[Chunk]:
        view = memoryview(data)
        while view:
            if self._buf is None or self._fill == self.chunk_size:
                if self._buf is not None:
                    yield self._cut(self._buf)
                self._buf = self._acquire()
                self._fill = 0
            assert self._buf is not None
            n = min(len(view), self.chunk_size - self._fill)
            self._buf[self._fill : self._fill + n] = view[:n]
            self._fill += n
            self.total += n
            view = view[n:]

    def fill_from(self, readinto: Callable[[memoryview], int | None],
                  size: int) -> Generator[Chunk, None, int]:
        """Copy ``size`` bytes from a reader straight into chunk buffers (no intermediate copy).

        Returns (through ``StopIteration.value``) how many bytes the reader really had; the rest
        of ``size`` is zero-filled so the stream stays well-formed when a file shrinks under us.
        """
        remaining = size
        got_total = 0
        eof = False
        while remaining:
            if self._buf is None or self._fill == self.chunk_size:
                if self._buf is not None:
                    yield self._cut(self._buf)
                self._buf = self._acquire()
                self._fill = 0
            assert self._buf is not None
            n = min(remaining, self.chunk_size - self._fill)
            target = memoryview(self._buf)[self._fill : self._fill + n]
            got = 0
            while not eof and got < n:
                r = readinto(target[got:])
                if not r:
                    eof = True
                    break
                got += r
            if got < n:
                target[got:] = bytes(n - got)
            got_total += got
            self._fill += n
            self.total += n
            remaining -= n
        return got_total

    def finish(self) -> Iterator[Chunk]:
        if self._buf is None:
            self._buf = self._acquire()
            self._fill = 0
        yield Chunk(self._index, self._buf, self._fill, final=True)
        self._buf = None
