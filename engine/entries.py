"""The entry stream: a role's folder tree as one byte stream (docs/FORMAT.md, "Entry stream").

The writer (backup_writer.py) reads a source's entries, headers and contents, as one stream cut
into fixed-size chunks (chunker.py). The decoder is a push parser in the manner of h11: feed it bytes, ask for the next event; it knows
nothing of files or sockets, and any input either parses or raises ``IntegrityError``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
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


# Not frozen: a frozen dataclass's __init__ costs three times a plain one's, and a simulated year
# makes some 10,000 entries (each role snapshot's), as a restore makes one per entry it reads.
# Nothing changes one once made: sources share them between snapshots.
@dataclass(slots=True)
class Entry:
    kind: Kind
    path: bytes  # relative, "/"-separated; b"" is the role's own folder
    mode: int
    mtime_ns: int
    size: int  # file: content length; symlink: target length; dir: 0


def pack_entry(entry: Entry) -> bytes:
    if len(entry.path) > 0xFFFF:
        raise ValueError(f"path too long for the entry stream: {entry.path[:60]!r}...")
    return ENTRY.pack(entry.kind, len(entry.path), entry.mode & MODE_MASK, entry.mtime_ns,
                      entry.size) + entry.path


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
# What the decoder hands out (not to be confused with a scenario's events or SimPy's).
StreamEvent = Entry | Symlink | FileData | FileEnd | StreamEnd | NeedData

_FILE_END = FileEnd()  # it holds nothing: one serves every file
_KINDS = {Kind.DIR.value: Kind.DIR, Kind.FILE.value: Kind.FILE, Kind.SYMLINK.value: Kind.SYMLINK}
_UNPACK_ENTRY = ENTRY.unpack_from
_ALL = 1 << 62
_DIR, _FILE, _SYMLINK = Kind.DIR.value, Kind.FILE.value, Kind.SYMLINK.value


def _components(path: bytes) -> list[bytes]:
    """The components of a clean relative path (``[b""]`` for the root); ``IntegrityError``
    for any other path."""
    if path == b"":
        return [b""]
    if path[0] == 0x2F or b"\x00" in path:  # 0x2F: "/"
        raise IntegrityError(f"entry path {path!r} is not relative")
    parts = path.split(b"/")
    if b"" in parts or b"." in parts or b".." in parts:
        raise IntegrityError(f"entry path {path!r} has an empty, '.' or '..' component")
    return parts


class EntryDecoder:
    """Parses an entry stream pushed in pieces; enforces every structural rule of FORMAT.md.

    Events come one at a time from ``next_event`` (``NEED_DATA`` once the bytes fed are used
    up), or as a list from ``next_events``: every event the bytes fed so far complete, the same
    events, with less work per event. File contents are not copied: a ``FileData`` is a view
    of the piece fed, valid while the caller keeps that piece unchanged. Only a record that a
    piece's end cuts in two is copied, into a small carry buffer, to be completed by the next.
    """

    def __init__(self) -> None:
        self._carry = bytearray()  # unread bytes of earlier pieces
        self._cpos = 0
        self._piece = memoryview(b"")  # the piece fed last, read in place after the carry
        self._pos = 0
        self._magic_seen = False
        self._file_left = 0
        self._in_file = False
        self._dirs: set[bytes] = set()
        self._seen: set[bytes] = set()
        self._count = 0
        self._last: list[bytes] = []  # the previous entry's path, by components
        self._ended = False
        self._error: IntegrityError | None = None  # found after events not yet handed out
        self.file_bytes = 0  # file contents handed out so far

    @property
    def entries(self) -> int:
        """The entries decoded so far, of every kind (what the end record counts)."""
        return self._count

    def feed(self, data: bytes | memoryview) -> None:
        if self._ended and len(data):
            raise IntegrityError("entry stream has bytes after its end record")
        self._keep_rest()  # fed again before every event was taken
        self._piece = memoryview(data)
        self._pos = 0

    def next_event(self) -> StreamEvent:
        out = self._events(1)
        return out[0] if out else NEED_DATA

    def next_events(self) -> list[StreamEvent]:
        """Every event the bytes fed so far complete: what ``next_event`` returns, call after
        call, before its ``NEED_DATA``. Bytes that break a rule raise ``IntegrityError`` once
        the events before them are handed out, from the next call (or ``close``)."""
        return self._events(_ALL)

    def close(self) -> None:
        """Call after the last byte: a stream without its end record is truncated."""
        if self._error is not None:
            raise self._error
        if not self._ended:
            raise IntegrityError("entry stream is truncated (no end record)")

    # --- the bytes fed ------------------------------------------------------------------

    def _compact(self) -> None:
        if self._cpos:
            del self._carry[: self._cpos]
            self._cpos = 0

    def _keep_rest(self) -> None:
        """Move what is unread of the piece into the carry (the caller may reuse the piece)."""
        if self._pos < len(self._piece):
            self._compact()
            self._carry += self._piece[self._pos :]
        self._piece = memoryview(b"")
        self._pos = 0

    def _gather(self, n: int) -> bool:
        """Make the carry hold ``n`` unread bytes, taken from the piece; False if fewer were
        fed (they are all in the carry then)."""
        short = n - (len(self._carry) - self._cpos)
        if short > 0:
            self._compact()
            take = min(short, len(self._piece) - self._pos)
            self._carry += self._piece[self._pos : self._pos + take]
            self._pos += take
        return len(self._carry) - self._cpos >= n

    # --- parsing ------------------------------------------------------------------------

    def _events(self, limit: int) -> list[StreamEvent]:
        if self._error is not None:
            raise self._error
        out: list[StreamEvent] = []
        try:
            self._parse(out, limit)
        except IntegrityError as exc:
            if not out:
                raise
            self._error = exc
        if self._pos == len(self._piece) and len(self._piece):
            self._piece = memoryview(b"")  # read to its end: the caller's to reuse
            self._pos = 0
        return out

    def _parse(self, out: list[StreamEvent], limit: int) -> None:
        if self._ended:
            return
        if not self._magic_seen:
            if not self._gather(len(STREAM_MAGIC)):
                return
            if self._carry[self._cpos : self._cpos + len(STREAM_MAGIC)] != STREAM_MAGIC:
                raise IntegrityError("entry stream does not start with its magic")
            self._cpos += len(STREAM_MAGIC)
            self._magic_seen = True
        append = out.append
        record = self._record
        piece = self._piece
        end = len(piece)
        while len(out) < limit:
            if self._cpos < len(self._carry):  # a piece ended inside a record or a file
                if self._in_file:
                    self._file_from_carry(append)
                    continue
                event = self._record_from_carry()
                if event is None:
                    return
            elif self._in_file:
                # The hot path of a restore: file contents as views of the piece, no copy.
                pos, left = self._pos, self._file_left
                if not left:
                    self._in_file = False
                    append(_FILE_END)
                    continue
                if pos == end:
                    return
                n = min(left, end - pos)
                append(FileData(piece[pos : pos + n]))
                self._pos = pos + n
                self._file_left = left - n
                self.file_bytes += n
                continue
            else:
                event, at = record(piece, self._pos)
                if event is None:
                    self._keep_rest()
                    return
                self._pos = at
            if self._ended and (self._cpos < len(self._carry) or self._pos < end):
                # The end record itself is sound: it is handed out, the bytes after it refused,
                # whether they came in the same piece or in later ones.
                append(event)
                raise IntegrityError("entry stream has bytes after its end record")
            append(event)
            if self._ended:
                return

    def _file_from_carry(self, append: Callable[[StreamEvent], None]) -> None:
        left = self._file_left
        if not left:
            self._in_file = False
            append(_FILE_END)
            return
        n = min(left, len(self._carry) - self._cpos)
        # A copy: a view of the carry would pin it against the next compaction.
        append(FileData(memoryview(bytes(self._carry[self._cpos : self._cpos + n]))))
        self._cpos += n
        self._file_left = left - n
        self.file_bytes += n

    def _record_from_carry(self) -> StreamEvent | None:
        """The record a piece's end cut: completed from the piece, as many bytes as it needs."""
        need = 1
        while self._gather(need):
            with memoryview(self._carry) as view:
                event, at = self._record(view, self._cpos)
            if event is not None:
                self._cpos = at
                return event
            need = at
        return None

    def _record(self, buf: memoryview, pos: int) -> tuple[StreamEvent | None, int]:
        """The record at ``buf[pos:]`` and where the next begins; or, if ``buf`` ends inside it,
        None and how many bytes from ``pos`` it needs at least (nothing is taken then).

        Checks in the order bytes arrive: the header's fields once the path is whole, a
        symlink's target once it is whole."""
        size_buf = len(buf)
        if pos >= size_buf:
            return None, 1
        if buf[pos] == 0:  # Kind.END
            if size_buf - pos < END.size:
                return None, END.size
            _, count = END.unpack_from(buf, pos)
            if count != self._count:
                raise IntegrityError(f"entry stream ends after {self._count} entries, claims {count}")
            self._ended = True
            return StreamEnd(count), pos + END.size
        start = pos + ENTRY.size
        if start > size_buf:
            return None, ENTRY.size
        kind, plen, mode, mtime_ns, size = _UNPACK_ENTRY(buf, pos)
        stop = start + plen
        if stop > size_buf:
            return None, ENTRY.size + plen
        path = bytes(buf[start:stop])
        kind_ = _KINDS.get(kind)
        if kind_ is None:
            raise IntegrityError(f"entry stream has an unknown entry kind {kind}")
        if mode & ~MODE_MASK:
            raise IntegrityError(f"entry {path!r} has invalid mode bits {mode:o}")
        parts = _components(path)
        if self._count:
            if path == b"":
                raise IntegrityError("entry stream has a second root entry")
            if path.rpartition(b"/")[0] not in self._dirs:
                raise IntegrityError(f"entry {path!r} comes before its parent folder")
            if path in self._seen:
                raise IntegrityError(f"entry {path!r} appears twice")
            # Depth-first pre-order with names sorted bytewise is ascending component order.
            if parts <= self._last:
                raise IntegrityError(f"entry {path!r} is out of order")
        elif path != b"" or kind != _DIR:
            raise IntegrityError("entry stream must start with the role's own folder")
        if kind == _FILE:
            entry = Entry(kind_, path, mode, mtime_ns, size)
            self._in_file = True
            self._file_left = size
            event: StreamEvent = entry
            at = stop
        elif kind == _DIR:
            if size != 0:
                raise IntegrityError(f"folder entry {path!r} has a size")
            entry = event = Entry(kind_, path, mode, mtime_ns, size)
            self._dirs.add(path)
            at = stop
        else:
            if not 0 < size <= MAX_SYMLINK_TARGET:
                raise IntegrityError(f"symlink entry {path!r} has an impossible target length: "
                                     f"{size} bytes, where a file system holds 1 to "
                                     f"{MAX_SYMLINK_TARGET} (a crafted or damaged backup)")
            at = stop + size
            if at > size_buf:
                return None, at - pos
            entry = Entry(kind_, path, mode, mtime_ns, size)
            target = bytes(buf[stop:at])
            self._check_target(entry, target)
            event = Symlink(entry, target)
        self._count += 1
        self._seen.add(path)
        self._last = parts
        return event, at

    def _check_target(self, entry: Entry, target: bytes) -> None:
        if b"\x00" in target:
            raise IntegrityError(f"symlink entry {entry.path!r} has a NUL byte in its target, which "
                                 "no file system can hold (a crafted or damaged backup)")
