"""The entry stream: a role's folder tree as one byte stream (docs/FORMAT.md, "Entry stream").

The encoder walks a source and writes headers and file contents into fixed-size chunks. The
decoder is a push parser in the manner of h11: feed it bytes, ask for the next event; it knows
nothing of files or sockets, and any input either parses or raises ``IntegrityError``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum

from ibs.engine.errors import IntegrityError

STREAM_MAGIC = b"IBSENT1\n"
ENTRY = struct.Struct(">BHIqQ")  # kind, path length, mode, mtime_ns, size
END = struct.Struct(">BQ")  # kind 0, number of entries before it
MAX_SYMLINK_TARGET = 4095  # PATH_MAX less the NUL: what symlink(2) accepts
MODE_MASK = 0o7777


class Kind(IntEnum):
    END = 0
    DIR = 1
    FILE = 2
    SYMLINK = 3


@dataclass(frozen=True, slots=True)
class Entry:
    kind: Kind
    path: bytes  # relative, "/"-separated; b"" is the role's own folder
    mode: int
    mtime_ns: int
    size: int  # file: content length; symlink: target length; dir: 0


def check_path(path: bytes) -> None:
    """Raise ``IntegrityError`` unless ``path`` is a clean relative path (or b"" for the root)."""
    if path == b"":
        return
    if path.startswith(b"/") or b"\x00" in path:
        raise IntegrityError(f"entry path {path!r} is not relative")
    for part in path.split(b"/"):
        if part in (b"", b".", b".."):
            raise IntegrityError(f"entry path {path!r} has an empty, '.' or '..' component")


def parent_of(path: bytes) -> bytes:
    return path.rpartition(b"/")[0]


def pack_entry(entry: Entry) -> bytes:
    if len(entry.path) > 0xFFFF:
        raise ValueError(f"path too long for the entry stream: {entry.path[:60]!r}...")
    return ENTRY.pack(entry.kind, len(entry.path), entry.mode & MODE_MASK, entry.mtime_ns,
                      entry.size) + entry.path


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

    def _room(self) -> Iterator[Chunk]:
        if self._buf is not None and self._fill == self.chunk_size:
            yield Chunk(self._index, self._buf, self._fill, final=False)
            self._index += 1
            self._buf = None
        if self._buf is None:
            self._buf = self._acquire()
            self._fill = 0

    def write(self, data: bytes | memoryview) -> Iterator[Chunk]:
        view = memoryview(data)
        while view:
            if self._buf is None or self._fill == self.chunk_size:
                yield from self._room()  # only then has it anything to do (entry headers are small)
            assert self._buf is not None
            n = min(len(view), self.chunk_size - self._fill)
            self._buf[self._fill : self._fill + n] = view[:n]
            self._fill += n
            self.total += n
            view = view[n:]

    def fill_from(self, readinto: Callable[[memoryview], int], size: int) -> Iterator[Chunk]:
        """Copy ``size`` bytes from a reader straight into chunk buffers (no intermediate copy).

        Returns (through ``StopIteration.value``) how many bytes the reader really had; the rest
        of ``size`` is zero-filled so the stream stays well-formed when a file shrinks under us.
        """
        remaining = size
        got_total = 0
        eof = False
        while remaining:
            if self._buf is None or self._fill == self.chunk_size:
                yield from self._room()
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


# --- decoding -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileData:
    data: memoryview


@dataclass(frozen=True, slots=True)
class FileEnd:
    pass


@dataclass(frozen=True, slots=True)
class StreamEnd:
    entries: int


@dataclass(frozen=True, slots=True)
class Symlink:
    entry: Entry
    target: bytes


class NeedData:
    """Returned by ``next_event`` when more bytes must be fed."""


NEED_DATA = NeedData()
Event = Entry | Symlink | FileData | FileEnd | StreamEnd | NeedData


class EntryDecoder:
    """Parses an entry stream pushed in pieces; enforces every structural rule of FORMAT.md."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._magic_seen = False
        self._file_left = 0
        self._in_file = False
        self._dirs: set[bytes] = set()
        self._seen: set[bytes] = set()
        self._count = 0
        self._last: list[bytes] = []  # the previous entry's path, by components
        self._ended = False
        self._pending: memoryview | None = None

    def feed(self, data: bytes | memoryview) -> None:
        if self._ended and len(data):
            raise IntegrityError("entry stream has bytes after its end record")
        if self._in_file and self._pos == len(self._buf) and self._pending is None:
            # Hot path: file contents pass through without being copied into our buffer.
            self._pending = memoryview(data)
            return
        self._compact()
        if self._pending is not None:
            self._buf += self._pending
            self._pending = None
        self._buf += data

    def _absorb_pending(self) -> None:
        if self._pending is not None:
            self._compact()
            self._buf += self._pending
            self._pending = None

    def _compact(self) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0

    def _take(self, n: int) -> memoryview | None:
        if len(self._buf) - self._pos < n:
            return None
        view = memoryview(self._buf)[self._pos : self._pos + n]
        self._pos += n
        return view

    def next_event(self) -> Event:
        if self._ended:
            return NEED_DATA
        if not self._magic_seen:
            magic = self._take(len(STREAM_MAGIC))
            if magic is None:
                return NEED_DATA
            if bytes(magic) != STREAM_MAGIC:
                raise IntegrityError("entry stream does not start with its magic")
            self._magic_seen = True
        if self._in_file:
            return self._file_event()
        self._absorb_pending()
        if len(self._buf) - self._pos < 1:
            return NEED_DATA
        if self._buf[self._pos] == Kind.END:
            raw = self._take(END.size)
            if raw is None:
                return NEED_DATA
            _, count = END.unpack(raw)
            if count != self._count:
                raise IntegrityError(f"entry stream ends after {self._count} entries, claims {count}")
            self._ended = True
            if self._pos != len(self._buf):
                raise IntegrityError("entry stream has bytes after its end record")
            return StreamEnd(count)
        return self._entry_event()

    def _entry_event(self) -> Event:
        start = self._pos
        raw = self._take(ENTRY.size)
        if raw is None:
            return NEED_DATA
        kind, plen, mode, mtime_ns, size = ENTRY.unpack(raw)
        path_view = self._take(plen)
        if path_view is None:
            self._pos = start
            return NEED_DATA
        path = bytes(path_view)
        entry = self._check(kind, path, mode, mtime_ns, size)
        if entry.kind is Kind.SYMLINK:
            target = self._take(size)
            if target is None:
                self._pos = start
                return NEED_DATA
            self._check_target(entry, bytes(target))
            self._accept(entry)
            return Symlink(entry, bytes(target))
        self._accept(entry)
        if entry.kind is Kind.FILE:
            self._in_file = True
            self._file_left = size
        return entry

    def _check(self, kind: int, path: bytes, mode: int, mtime_ns: int, size: int) -> Entry:
        if kind not in (Kind.DIR, Kind.FILE, Kind.SYMLINK):
            raise IntegrityError(f"entry stream has an unknown entry kind {kind}")
        if mode & ~MODE_MASK:
            raise IntegrityError(f"entry {path!r} has invalid mode bits {mode:o}")
        check_path(path)
        if self._count == 0:
            if path != b"" or kind != Kind.DIR:
                raise IntegrityError("entry stream must start with the role's own folder")
        else:
            if path == b"":
                raise IntegrityError("entry stream has a second root entry")
            if parent_of(path) not in self._dirs:
                raise IntegrityError(f"entry {path!r} comes before its parent folder")
            if path in self._seen:
                raise IntegrityError(f"entry {path!r} appears twice")
            # Depth-first pre-order with names sorted bytewise is ascending component order.
            if path.split(b"/") <= self._last:
                raise IntegrityError(f"entry {path!r} is out of order")
        if kind == Kind.DIR and size != 0:
            raise IntegrityError(f"folder entry {path!r} has a size")
        if kind == Kind.SYMLINK and not 0 < size <= MAX_SYMLINK_TARGET:
            raise IntegrityError(f"symlink entry {path!r} has an impossible target length: {size} "
                                 f"bytes, where a file system holds 1 to {MAX_SYMLINK_TARGET} "
                                 "(a crafted or damaged backup)")
        return Entry(Kind(kind), path, mode, mtime_ns, size)

    def _check_target(self, entry: Entry, target: bytes) -> None:
        if b"\x00" in target:
            raise IntegrityError(f"symlink entry {entry.path!r} has a NUL byte in its target, which "
                                 "no file system can hold (a crafted or damaged backup)")

    def _accept(self, entry: Entry) -> None:
        self._count += 1
        self._seen.add(entry.path)
        self._last = entry.path.split(b"/")
        if entry.kind is Kind.DIR:
            self._dirs.add(entry.path)

    def _file_event(self) -> Event:
        if self._file_left == 0:
            self._in_file = False
            return FileEnd()
        if self._pos < len(self._buf):
            n = min(self._file_left, len(self._buf) - self._pos)
            taken = self._take(n)
            assert taken is not None
            # A copy: a view into our own buffer would pin it against the next compaction.
            view = memoryview(bytes(taken))
            taken.release()
        elif self._pending is not None:
            n = min(self._file_left, len(self._pending))
            view = self._pending[:n]
            rest = self._pending[n:]
            self._pending = None
            if rest:
                self._compact()
                self._buf += rest
        else:
            return NEED_DATA
        self._file_left -= n
        return FileData(view)

    def close(self) -> None:
        """Call after the last byte: a stream without its end record is truncated."""
        if not self._ended:
            raise IntegrityError("entry stream is truncated (no end record)")


