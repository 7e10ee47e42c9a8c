"""The ``sim`` fidelity's share: an in-memory SMB share whose faults come from the simulated world.

Before every operation it asks ``gate`` whether the controller can reach and use the share at
this instant; the gate raises the same ``ShareError`` categories the real SMB client raises
(engine/share/smb_errors.py), so the engine sees the same failures at either fidelity. Its own
failures (a full disk, a missing path) are worded as ``SmbShare`` words them: the share's UNC
path, then what went wrong while doing what to which share-relative path. Its internal root
("backup/stamp1") never shows: a scenario's messages read the same at either fidelity.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO, Self

from ibs.engine.errors import GeneralFaultError, PathFaultError, ShareCapacityError
from ibs.engine.share.base import Share, ShareStat, validate_relpath

# An SMB server reports space in whole allocation units ([MS-FSCC] 2.5.4). A real unit is 4 KiB,
# which at the simulation's scale would be 64 MiB modelled: the simulated file server (and
# fake_smb at wire fidelity, simulator/wire.py) counts single bytes, so no rounding is scaled up
# and free space reads the same at either fidelity.
ALLOCATION_UNIT = 1


class ShareStorage:
    """The bytes on the simulated file server, shared by every connection to it.

    ``files`` and ``dirs`` may be read (and a file's bytes changed in place, keeping its length)
    but are changed only through the methods below, which keep two indexes in step with them:
    the bytes stored (read ``stored``, never set it), and each folder's entries. A simulated decade keeps thousands of paths, and
    summing or scanning them all at every write and listing was most of the share's cost.

    A folder lists a name while the name counts anything: the paths in ``files`` and ``dirs``
    it stands for, and its own listing if that lists anything. Counting only that, not every
    path below, a new file touches its folder's listing alone, unless the folder was empty:
    counting every path touched every folder above it, for each of a backup's dozen files.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # real bytes
        self.files: dict[str, bytearray] = {}
        self.dirs: set[str] = {""}
        self.filler = 0  # bytes taken by other tenants of the file server
        # Bytes of the files on the share (``used`` less the other tenants' filler): the sum of
        # the files' lengths. Read after every record written, so an attribute, not a property.
        self.stored = 0
        # folder -> {entry name -> what it counts (see above): at least 1}
        self._entries: dict[str, dict[str, int]] = {}

    @property
    def used(self) -> int:
        return self.stored + self.filler

    def entries(self, folder: str) -> list[str]:
        """The names directly in ``folder`` ("" is the top): what a scan of every path finds."""
        return sorted(self._entries.get(folder, ()))

    def _count(self, path: str, delta: int) -> None:
        """``path`` counts ``delta`` more in the listing that names it; a listing that gains its
        first name or loses its last one counts in the listing above it in turn."""
        if path == "":
            return  # the top folder lies in no folder
        entries = self._entries
        folder, name = _listed_as(path)
        while True:
            names = entries.get(folder)
            if names is None:
                names = entries[folder] = {}
            before = names.get(name, 0)
            after = before + delta
            if after:
                names[name] = after
                if before or len(names) > 1:
                    return
                delta = 1
            else:
                del names[name]
                if names:
                    return
                del entries[folder]
                delta = -1
            if folder == "":
                return
            folder, name = _listed_as(folder)

    def _weight(self, path: str) -> int:
        """What ``path`` counts in the listing that names it (0 if none names it)."""
        folder, name = _listed_as(path)
        return self._entries.get(folder, {}).get(name, 0)

    def add_dir(self, path: str) -> None:
        if path not in self.dirs:
            self.dirs.add(path)
            self._count(path, 1)

    def discard_dir(self, path: str) -> None:
        if path in self.dirs:
            self.dirs.discard(path)
            self._count(path, -1)

    def put_file(self, path: str, data: bytearray) -> None:
        old = self.files.get(path)
        if old is None:
            self._count(path, 1)
        else:
            self.stored -= len(old)
        self.files[path] = data
        self.stored += len(data)

    def pop_file(self, path: str) -> bytearray | None:
        data = self.files.pop(path, None)
        if data is not None:
            self.stored -= len(data)
            self._count(path, -1)
        return data

    def move_tree(self, s: str, d: str) -> None:
        """Move folder ``s`` and every path under it to ``d``, which does not exist."""
        if (not (_clean(s) and _clean(d)) or d.startswith(s + "/") or d in self._entries
                or d in self.files or d in self.dirs):
            files, dirs = self._scan(s)
            for p in files:  # a path already under d, or an odd name: path by path
                self.put_file(d + p[len(s):], self.pop_file(p))  # type: ignore[arg-type]
            for p in dirs:
                self.discard_dir(p)
                self.add_dir(d + p[len(s):])
            return
        # The paths keep their counts below s, which move to d whole, and s's ancestors give
        # their counts to d's: a backup folder moves with a few dict operations, not per path.
        # For a clean name, whatever lies under s is indexed there, and nothing lies under d,
        # which does not exist: only listed folders are walked (a file, most of a backup's
        # names, lists nothing), each path moved as the walk meets it (a year moves some 1,400
        # backup folders).
        stored, made, entries = self.files, self.dirs, self._entries
        if s in made:
            made.discard(s)
            made.add(d)
        cut = len(s)
        todo = [s] if s in entries else []
        while todo:
            at = todo.pop()
            to = d + at[cut:]
            listing = entries[to] = entries.pop(at)
            for name in listing:
                p = f"{at}/{name}"
                if p in stored:
                    stored[f"{to}/{name}"] = stored.pop(p)
                if p in made:
                    made.discard(p)
                    made.add(f"{to}/{name}")
                if p in entries:
                    todo.append(p)
        # What s counts moves to d, less a file named s, which stays.
        moved = self._weight(s) - (s in stored)
        if moved:
            self._count(s, -moved)
            self._count(d, moved)

    def remove_tree(self, folder: str) -> None:
        """Remove folder ``folder`` and every path under it (a file named ``folder`` stays)."""
        if not _clean(folder):
            files, dirs = self._scan(folder)
            for p in files:
                self.pop_file(p)
            for p in dirs:
                self.discard_dir(p)
            return
        # The walk move_tree takes, removing each path as it meets it.
        stored, made, entries = self.files, self.dirs, self._entries
        made.discard(folder)
        todo = [folder] if folder in entries else []
        while todo:
            at = todo.pop()
            for name in entries.pop(at):
                p = f"{at}/{name}"
                data = stored.pop(p, None)
                if data is not None:
                    self.stored -= len(data)
                made.discard(p)
                if p in entries:
                    todo.append(p)
        gone = self._weight(folder) - (folder in stored)  # a file named folder stays
        if gone:
            self._count(folder, -gone)

    def _scan(self, folder: str) -> tuple[list[str], list[str]]:
        """The files under ``folder`` and the dirs at or under it, from every path."""
        prefix = folder + "/"
        return ([p for p in self.files if p.startswith(prefix)],
                [p for p in self.dirs if p == folder or p.startswith(prefix)])

    def append_within(self, path: str, data) -> bool:
        """Append ``data`` to file ``path`` if the file server has room for all of it, else
        as much as it has room for: whether all of it fitted. One call per record written,
        where asking ``used`` and then appending took three."""
        buf = self.files[path]
        n = len(buf)
        room = self.capacity - self.stored - self.filler
        if len(data) > room:
            buf += memoryview(data)[: max(0, room)]
            self.stored += len(buf) - n
            return False
        buf += data
        self.stored += len(buf) - n
        return True


def _listed_as(path: str) -> tuple[str, str]:
    """(folder, name) of the listing that names ``path``: its parent's, by its last part. A
    listing of "" takes every path's first part, so "/x" (first part "") shows there as ""."""
    folder, slash, name = path.rpartition("/")
    if folder or not slash:
        return folder, name
    return "", ""


def _clean(path: str) -> bool:
    return "" not in path.split("/")


class _Writer:
    """A file being created: what the engine asks of one (write, close, a context). Not an
    ``io`` object, whose set-up, close and finaliser cost more than a small role's writes."""

    __slots__ = ("_full", "_path", "_share", "closed")

    def __init__(self, share: MemoryShare, full: str, path: str) -> None:
        self._share = share
        self._full = full  # the key in storage.files
        self._path = path  # as the engine named it, for messages
        self.closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True  # what close does, without a call for each of a backup's files

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        share = self._share
        share._gate("write")
        if not share.storage.append_within(self._full, data):
            raise ShareCapacityError(share._message("disk full", f"writing {self._path}"))
        return len(data)


# Every folder's stat: a frozen value, made once (a backup stats two folders).
_FOLDER = ShareStat(0, True)


class _Reader(io.BytesIO):
    pass


class MemoryShare(Share):
    def __init__(self, storage: ShareStorage, root: str, display: str,
                 gate: Callable[[str], None], encrypted: Callable[[], bool]) -> None:
        self.storage = storage
        self.root = root.strip("/")
        self._display = display
        # Asked before every operation: the callable itself, with no method around it.
        self._gate = gate
        self._encrypted = encrypted

    def _p(self, path: str) -> str:
        if path == "":
            return self.root
        validate_relpath(path)
        return f"{self.root}/{path}" if self.root else path

    def _message(self, reason: str, what: str) -> str:
        # The shape of engine.share.smb_errors.translate: "<UNC>: <reason> while <what>".
        return f"{self._display}: {reason} while {what}"

    def _missing(self, full: str, what: str) -> PathFaultError:
        # An SMB server tells a missing name in an existing folder (OBJECT_NAME_NOT_FOUND) from
        # a missing folder on the way (OBJECT_PATH_NOT_FOUND); smb_errors words them apart.
        parent_exists = full.rpartition("/")[0] in self.storage.dirs
        reason = "not found" if parent_exists else "path not found"
        return PathFaultError(self._message(reason, what))

    def describe(self) -> str:
        return self._display

    def connect(self) -> None:
        self._gate("connect")
        if self.root not in self.storage.dirs:
            raise PathFaultError(f"{self._display}: folder does not exist")
        self.transfer_encrypted = self._encrypted()

    def close(self) -> None:
        pass

    def listdir(self, path: str) -> list[str]:
        self._gate("list")
        full = self._p(path)
        if full not in self.storage.dirs:
            raise self._missing(full, f"listing {path or '/'}")
        return self.storage.entries(full)

    def stat(self, path: str) -> ShareStat | None:
        self._gate("stat")
        full = self._p(path)
        if full in self.storage.dirs:
            return _FOLDER
        if full in self.storage.files:
            return ShareStat(len(self.storage.files[full]), False)
        return None

    def makedirs(self, path: str) -> None:
        self._gate("mkdir")
        parts = self._p(path).split("/")
        storage = self.storage
        made = storage.dirs
        for i in range(1, len(parts) + 1):
            folder = "/".join(parts[:i])
            if folder not in made:  # most are there: the share's root, the backups' folder
                storage.add_dir(folder)

    def create(self, path: str) -> BinaryIO:
        self._gate("create")
        full = self._p(path)
        if full.rpartition("/")[0] not in self.storage.dirs:
            raise PathFaultError(self._message("path not found", f"creating {path}"))
        self.storage.put_file(full, bytearray())
        return _Writer(self, full, path)  # type: ignore[return-value]

    def open(self, path: str) -> BinaryIO:
        self._gate("open")
        full = self._p(path)
        if full not in self.storage.files:
            raise self._missing(full, f"opening {path}")
        return _Reader(bytes(self.storage.files[full]))

    def rename(self, src: str, dst: str) -> None:
        self._gate("rename")
        s, d = self._p(src), self._p(dst)
        if d in self.storage.files or d in self.storage.dirs:
            raise GeneralFaultError(f"cannot rename {src} to {dst}: destination exists")
        storage = self.storage
        if s in storage.files:
            storage.put_file(d, storage.pop_file(s))  # type: ignore[arg-type]
            return
        if s not in storage.dirs:
            raise self._missing(s, f"renaming {src}")
        storage.move_tree(s, d)

    def remove(self, path: str) -> None:
        self._gate("delete")
        self.storage.pop_file(self._p(path))

    def rmtree(self, path: str) -> None:
        self._gate("delete")
        self.storage.remove_tree(self._p(path))

    def free_space(self) -> int:
        self._gate("statfs")
        free = max(0, self.storage.capacity - self.storage.used)
        return free - free % ALLOCATION_UNIT

    def total_space(self) -> int:
        self._gate("statfs")
        return self.storage.capacity - self.storage.capacity % ALLOCATION_UNIT
