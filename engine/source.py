"""Sources of role data: what the engine reads when it backs up one infrastructure role.

A source yields ``SourceItem``s in the order the entry stream needs: the role's folder first,
then each folder before what it holds, names sorted bytewise so the same tree always gives
the same stream. ``DirectorySource`` reads a real folder; the simulator supplies its own.

What a source cannot back up it leaves out and notes in ``skipped`` (``Skipped``): an entry it
may not read (the role then completes with warnings, as restic does), a special file, which
the format cannot hold, or an entry gone between listing and reading (both named, the role
unaffected).
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from ibs.engine.entries import Entry, Kind


class FileReader(Protocol):
    """An open file as the backup reads it: straight into its buffers, then closed."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None, /) -> bool | None: ...


# Not frozen, as ``Entry`` is not: a simulated year makes some 12,000. Nothing changes one once
# made.
@dataclass(slots=True)
class SourceItem:
    entry: Entry
    open: Callable[[], FileReader] | None = None  # files
    target: bytes | None = None  # symlinks


class RoleSource(Protocol):
    def items(self) -> Iterator[SourceItem]: ...

    def total_bytes(self) -> int:
        """The bytes of file content the source holds now (for progress and the space check)."""
        ...


def incompressible(source: RoleSource) -> bool:
    """Whether ``source`` says its file data does not compress (an optional attribute,
    ``incompressible = True``): the sealer then spares long chunks its zstd probes, which would
    only confirm it. The bytes written are the same either way (engine/chunks.py)."""
    return getattr(source, "incompressible", False) is True


def short_chunks_repeat(source: RoleSource) -> bool:
    """Whether ``source`` says its short chunks recur (an optional attribute,
    ``short_chunks_repeat = True``): the sealer then keeps what they compressed to
    (engine/chunks.py). The bytes written are the same either way."""
    return getattr(source, "short_chunks_repeat", False) is True


@dataclass(slots=True)
class Skipped:
    """What a source left out of its role, each entry with why."""

    unreadable: list[tuple[bytes, str]] = field(default_factory=list)  # data lost: warn loudly
    special: list[tuple[bytes, str]] = field(default_factory=list)  # not data the format holds
    # Gone between listing and reading (a log rotated, say): nothing to back up any more.
    vanished: list[tuple[bytes, str]] = field(default_factory=list)


# Each skipped entry is named up to this many times per role and kind; a tree of 100,000
# unreadable files must not become a job record of 100,000 lines.
NAMED_PER_ROLE = 20


def skipped_of(source: RoleSource) -> Skipped:
    """The source's notes; sources that never skip anything (the simulator's) have none."""
    return getattr(source, "skipped", None) or Skipped()


def skip_warnings(role: str, skipped: Skipped) -> list[str]:
    """The job record's warnings for what ``role``'s source left out."""
    if not (skipped.unreadable or skipped.special or skipped.vanished):
        return []  # the common case, asked of every role of every backup
    out = []
    for entries, what in ((skipped.unreadable, "could not be read"),
                          (skipped.special, "is not a file, folder or symlink"),
                          (skipped.vanished, "disappeared while being backed up")):
        for path, cause in entries[:NAMED_PER_ROLE]:
            shown = os.fsdecode(path) or "."
            out.append(f"role {role}: skipped {shown}: {what} ({cause})")
        if len(entries) > NAMED_PER_ROLE:
            out.append(f"role {role}: skipped {len(entries) - NAMED_PER_ROLE} more entries that "
                       f"{what}")
        if entries and entries is skipped.unreadable:
            out.append(f"role {role}: {len(entries)} entries were not backed up; give the "
                       "backup's account read access to them, or remove them from the role's "
                       "folder")
    return out


# Errors that mean "this one entry cannot be read": skip it and go on. Anything else (an I/O
# error) still fails the role.
_SKIPPABLE = frozenset({errno.EACCES, errno.EPERM, errno.ELOOP, errno.ENXIO})
# A file opened for reading must not block (a FIFO swapped in after the stat) nor follow a
# symlink swapped in after the stat.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

_SPECIAL = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
            (stat.S_ISBLK, "block device"))


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _cause(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


class DirectorySource:
    """A role's data in a local folder.

    Entries it may not read, and special files (sockets, FIFOs, devices), are left out and
    noted in ``skipped``. The role's own folder must be readable: without it nothing is.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # str paths (undecodable bytes kept by surrogateescape) work on every os.* backend.
        self.root = os.fsdecode(os.fspath(root))
        self.skipped = Skipped()

    def total_bytes(self) -> int:
        # One lstat per regular file and none for anything else: the file type comes from the
        # listing (d_type) wherever the file system gives it.
        total = 0
        folders = [self.root]
        while folders:
            try:
                it = os.scandir(folders.pop())
            except OSError:
                continue
            with it:
                for child in it:
                    try:
                        if child.is_file(follow_symlinks=False):
                            total += child.stat(follow_symlinks=False).st_size
                        elif child.is_dir(follow_symlinks=False):
                            folders.append(child.path)
                    except OSError:
                        continue
        return total

    def items(self) -> Iterator[SourceItem]:
        self.skipped = Skipped()
        st = os.stat(self.root)
        children = self._list(self.root)  # unreadable: the role fails (nothing of it can be read)
        yield SourceItem(Entry(Kind.DIR, b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns, 0))
        yield from self._walk(children, b"")

    @staticmethod
    def _list(folder: str) -> list[os.DirEntry[str]]:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: os.fsencode(e.name))

    def _skip(self, path: bytes, exc: OSError) -> None:
        if exc.errno == errno.ENOENT:
            self.skipped.vanished.append((path, _cause(exc)))
        elif exc.errno in _SKIPPABLE:
            self.skipped.unreadable.append((path, _cause(exc)))
        else:
            raise exc

    def _walk(self, children: list[os.DirEntry[str]], rel: bytes) -> Iterator[SourceItem]:
        prefix = rel + b"/" if rel else b""
        for child in children:
            path = prefix + child.name.encode(_FS_ENCODING, _FS_ERRORS)  # os.fsencode, inlined
            try:
                # A regular file by the listing's own type (no lstat where the file system
                # gives d_type); its entry comes from the open file's fstat.
                regular = child.is_file(follow_symlinks=False)
            except OSError as exc:
                self._skip(path, exc)
                continue
            if regular:
                item = self._file(child, path)
                if item is not None:
                    yield item
                continue
            try:
                st = child.stat(follow_symlinks=False)
            except OSError as exc:
                self._skip(path, exc)
                continue
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = os.fsencode(os.readlink(child.path))
                except OSError as exc:
                    self._skip(path, exc)
                    continue
                yield SourceItem(Entry(Kind.SYMLINK, path, mode, st.st_mtime_ns, len(target)),
                                 target=target)
            elif stat.S_ISDIR(st.st_mode):
                # Listed before its entry is written: a folder we may not list is left out
                # whole, rather than backed up as an empty folder that restores as one.
                try:
                    grandchildren = self._list(child.path)
                except OSError as exc:
                    self._skip(path, exc)
                    continue
                yield SourceItem(Entry(Kind.DIR, path, mode, st.st_mtime_ns, 0))
                yield from self._walk(grandchildren, path)
            elif stat.S_ISREG(st.st_mode):  # a regular file the listing gave no type
                item = self._file(child, path)
                if item is not None:
                    yield item
            else:
                kind = next((k for test, k in _SPECIAL if test(st.st_mode)), "special file")
                self.skipped.special.append((path, kind))

    def _file(self, child: os.DirEntry[str], path: bytes) -> SourceItem | None:
        # Opened before its entry is written, so a file we may not read is left out rather
        # than stored as zeros. The entry's size and time are the open file's (fstat): those
        # of what is read. The writer closes it.
        try:
            f, st = _open_regular(child.path)
        except OSError as exc:
            self._skip(path, exc)
            return None
        return SourceItem(Entry(Kind.FILE, path, stat.S_IMODE(st.st_mode), st.st_mtime_ns,
                                st.st_size), open=f.__enter__)


def _open_regular(path: str) -> tuple[io.FileIO, os.stat_result]:
    """The open file and its fstat. It stays non-blocking: O_NONBLOCK only matters to the open
    (of a FIFO swapped in after the listing), reads of a regular file ignore it, and clearing
    it would cost two more system calls per file."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced since it was listed
            raise OSError(errno.ENXIO, "no longer a regular file", path)
        return open(fd, "rb", buffering=0, closefd=True), st
    except BaseException:
        os.close(fd)
        raise
