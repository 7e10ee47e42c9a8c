"""A role's entry stream (docs/FORMAT.md, "Entry stream"), read chunk by chunk into buffers the
caller lends: each chunk exactly the chunk size but the last, which the stream knows is its last
("the final-chunk rule"). Sealing each chunk into a record is chunks.py.

One reader makes the stream for both of the writer's paths: the inline one (the simulator's)
reads into one buffer over and over, the threaded one into buffers from a pool (``chunks_of``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ibs.engine.entries import END, STREAM_MAGIC, Entry, Kind, pack_entry
from ibs.engine.errors import SourceError
from ibs.engine.source import FileReader, RoleSource, SourceItem

_FILE, _SYMLINK = Kind.FILE, Kind.SYMLINK


@dataclass(slots=True)
class Chunk:
    index: int
    buffer: bytearray
    length: int
    final: bool

    @property
    def data(self) -> memoryview:
        return memoryview(self.buffer)[: self.length]


class EntryStream:
    """A role's entry stream: the magic, each entry's header then its contents (a file's bytes,
    a symlink's target), the end record. ``readinto`` fills the caller's buffer with the next
    bytes; ``done`` says the end record is in, so the chunk just read is the final one, even
    when it is full (a stream whose length is a multiple of the chunk size).

    Not a generator: generators per chunk, per header and per file, and a chunk object per
    chunk, were a seventh of a simulated year's hub time. Work that copies nothing (taking the
    next item, packing its header, opening its file) is done as soon as the bytes before it
    are in, as the writer always did; only copying waits for room. A file that shrank while
    read is padded with zeros to the size its entry claims, and named in ``warnings``. The
    source's failures (``OSError``, and ``ValueError`` for a path the format cannot hold)
    become ``SourceError``; a stream left before its end must be ``close``d.
    """

    __slots__ = ("_ended", "_entry", "_eof", "_file", "_items", "_left", "_opener",
                 "_pending", "_read", "_source", "done", "entries", "file_bytes", "role", "total",
                 "warnings")

    def __init__(self, role: str, source: RoleSource, warnings: list[str]) -> None:
        self.role = role
        self.warnings = warnings
        self.entries = 0  # entries taken so far; what the end record counts
        self.file_bytes = 0  # file contents in the stream so far (padding included)
        self.total = 0  # bytes read out so far
        self.done = False
        self._source = source
        self._items: Iterator[SourceItem] | None = None  # asked for at the first read
        self._pending: bytes = STREAM_MAGIC  # header (or target) bytes not yet read out
        self._opener: Callable[[], FileReader] | None = None  # the file whose header is pending
        self._entry: Entry | None = None  # ... and its entry, while the file is read
        self._file: FileReader | None = None
        self._read: Callable[[memoryview], int | None] | None = None
        self._left = 0  # bytes of the open file's entry not yet read out
        self._eof = False  # it had fewer than its entry claims: the rest is zeros
        self._ended = False  # the end record is pending or read out

    def readinto(self, buf: memoryview) -> int:
        """Fill ``buf`` with the stream's next bytes; fewer than it holds only at the end."""
        size = len(buf)
        fill = 0
        pending = self._pending
        left = self._left
        try:
            while True:
                if pending:
                    n = len(pending)
                    if fill + n <= size:
                        buf[fill : fill + n] = pending
                        fill += n
                        pending = b""
                    elif fill == size:
                        break
                    else:
                        n = size - fill
                        buf[fill:] = pending[:n]
                        pending = pending[n:]
                        fill = size
                        break
                if self._opener is not None:
                    left = self._open()
                if self._file is not None:
                    if left:
                        if fill == size:
                            break
                        n = min(size - fill, left)
                        left -= n
                        target = buf[fill : fill + n]
                        # A file gives what is asked at once, nearly always: no call for that.
                        got = 0 if self._eof else self._read(target)  # type: ignore[misc]
                        if got != n:
                            self._read_rest(target, got or 0)
                        fill += n
                        if left:
                            break
                    self._end_file()
                if self._ended:
                    self.done = True
                    break
                pending = self._next(size - fill)
        except OSError as exc:
            self.close()
            where = f" ({exc.filename!r})" if exc.filename else ""
            raise SourceError(self.role,
                              f"cannot read source data: {exc.strerror or exc}{where}") from None
        except ValueError as exc:  # a path too long for the format
            self.close()
            raise SourceError(self.role, str(exc)) from None
        finally:
            self._pending = pending
            self._left = left
        self.total += fill
        return fill

    def _open(self) -> int:
        """Open the file whose header is read out; the bytes its entry claims."""
        opener, entry = self._opener, self._entry
        assert opener is not None and entry is not None
        self._opener = None
        self._file = file = opener()
        self._read = file.__enter__().readinto
        self._eof = False
        return entry.size

    def _read_rest(self, target: memoryview, got: int) -> None:
        """Fill ``target`` of which a read gave ``got`` bytes: from the file while it gives
        any, then zeros past its end (where it stays)."""
        n = len(target)
        read = self._read
        assert read is not None
        while 0 < got < n:
            r = read(target[got:])
            if not r:
                break
            got += r
        if got < n:
            target[got:] = bytes(n - got)
            self._eof = True

    def _end_file(self) -> None:
        file, entry = self._file, self._entry
        assert file is not None and entry is not None
        self._file = self._read = self._entry = None
        file.__exit__(None, None, None)
        self.file_bytes += entry.size
        if self._eof:
            self.warnings.append(f"{entry.path!r} shrank while being read; padded with zeros")

    def _next(self, room: int) -> bytes:
        """The next items' headers, up to a file's (its file to be opened once the header is
        read out) or a symlink's (and its target), or the end record after the last item.

        Folders' headers are joined while they fit in ``room``, the rest of the chunk: the
        writer takes an item as soon as the bytes before it are in, so taking them together
        changes nothing but the calls (a simulated role opens with two folders)."""
        items = self._items
        if items is None:
            items = self._items = iter(self._source.items())
        out = b""
        while True:
            item = next(items, None)
            if item is None:
                self._ended = True
                return out + END.pack(Kind.END, self.entries)
            entry = item.entry
            self.entries += 1
            kind = entry.kind
            if kind is _FILE:
                assert item.open is not None
                self._opener = item.open
                self._entry = entry
                return out + pack_entry(entry)
            if kind is _SYMLINK:
                assert item.target is not None
                return out + pack_entry(entry) + item.target
            out += pack_entry(entry)
            if len(out) > room:
                return out

    def close(self) -> None:
        """Close the file being read, if any (a stream left before its end)."""
        file = self._file
        self._file = self._read = self._opener = None
        if file is not None:
            file.__exit__(None, None, None)


def chunks_of(stream: EntryStream, acquire: Callable[[], bytearray]) -> Iterator[Chunk]:
    """The stream's chunks, each in a buffer from ``acquire``: the threaded writer's. A buffer
    is taken only once the chunk before it is handed on (the pool holds a bounded number, and
    a producer holding two while the consumer waits for one would deadlock)."""
    index = 0
    try:
        while not stream.done:
            buf = acquire()
            n = stream.readinto(memoryview(buf))
            yield Chunk(index, buf, n, stream.done)
            index += 1
    finally:
        stream.close()
