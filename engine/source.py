"""Sources of role data: what the engine reads when it backs up one infrastructure role.

A source yields ``SourceItem``s in the order the entry stream needs: the role's folder first,
then each folder before what it holds, names sorted bytewise so the same tree always gives
the same stream. ``DirectorySource`` reads a real folder; the simulator supplies its own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from engine.entries import Entry, Kind


@dataclass(frozen=True, slots=True)
class SourceItem:
    entry: Entry
    open: Callable[[], BinaryIO] | None = None  # files
    target: bytes | None = None  # symlinks


class RoleSource(Protocol):
    def items(self) -> Iterator[SourceItem]: ...

    def total_bytes(self) -> int:
        """The bytes of file content the source holds now (for progress and the space check)."""
        ...


class DirectorySource:
    """A role's data in a local folder. Special files (sockets, FIFOs, devices) are skipped."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # str paths (undecodable bytes kept by surrogateescape) work on every os.* backend.
        self.root = os.fsdecode(os.fspath(root))
        self.skipped: list[bytes] = []

    def total_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
        return total

    def items(self) -> Iterator[SourceItem]:
        st = os.stat(self.root)
        yield SourceItem(Entry(Kind.DIR, b"", stat.S_IMODE(st.st_mode), st.st_mtime_ns, 0))
        yield from self._walk(self.root, b"")

    def _walk(self, folder: str, rel: bytes) -> Iterator[SourceItem]:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: os.fsencode(e.name))
        for child in children:
            name = os.fsencode(child.name)
            path = name if not rel else rel + b"/" + name
            st = child.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                target = os.fsencode(os.readlink(child.path))
                yield SourceItem(Entry(Kind.SYMLINK, path, mode, st.st_mtime_ns, len(target)),
                                 target=target)
            elif stat.S_ISDIR(st.st_mode):
                yield SourceItem(Entry(Kind.DIR, path, mode, st.st_mtime_ns, 0))
                yield from self._walk(child.path, path)
            elif stat.S_ISREG(st.st_mode):
                full = child.path
                yield SourceItem(
                    Entry(Kind.FILE, path, mode, st.st_mtime_ns, st.st_size),
                    open=lambda full=full: open(full, "rb", buffering=0),
                )
            else:
                self.skipped.append(path)
