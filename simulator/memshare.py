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
from typing import BinaryIO

from engine.errors import GeneralFaultError, PathFaultError, ShareCapacityError
from engine.share.base import Share, ShareStat, validate_relpath

# An SMB server reports space in whole allocation units ([MS-FSCC] 2.5.4). A real unit is 4 KiB,
# which at the simulation's scale would be 64 MiB modelled: the simulated file server (and
# fake_smb at wire fidelity, simulator/wire.py) counts single bytes, so no rounding is scaled up
# and free space reads the same at either fidelity.
ALLOCATION_UNIT = 1


class ShareStorage:
    """The bytes on the simulated file server, shared by every connection to it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # real bytes
        self.files: dict[str, bytearray] = {}
        self.dirs: set[str] = {""}
        self.filler = 0  # bytes taken by other tenants of the file server

    @property
    def used(self) -> int:
        # Summed on demand: a running total would have to follow every direct edit of ``files``
        # (tampering, tests); a few hundred files make this cheap enough.
        return sum(map(len, self.files.values())) + self.filler


class _Writer(io.RawIOBase):
    def __init__(self, share: MemoryShare, full: str, path: str) -> None:
        self._share = share
        self._full = full  # the key in storage.files
        self._path = path  # as the engine named it, for messages

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._share._gate("write")
        storage = self._share.storage
        n = len(data)
        if storage.used + n > storage.capacity:
            room = max(0, storage.capacity - storage.used)
            storage.files[self._full] += bytes(memoryview(data)[:room])
            raise ShareCapacityError(self._share._message("disk full", f"writing {self._path}"))
        storage.files[self._full] += data
        return n


class _Reader(io.BytesIO):
    pass


class MemoryShare(Share):
    def __init__(self, storage: ShareStorage, root: str, display: str,
                 gate: Callable[[str], None], encrypted: Callable[[], bool]) -> None:
        self.storage = storage
        self.root = root.strip("/")
        self._display = display
        self._gate_fn = gate
        self._encrypted = encrypted

    def _gate(self, op: str) -> None:
        self._gate_fn(op)

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
        prefix = f"{full}/" if full else ""
        names = {p[len(prefix):].split("/", 1)[0]
                 for p in (*self.storage.files, *self.storage.dirs)
                 if p.startswith(prefix) and p != full}
        return sorted(names)

    def stat(self, path: str) -> ShareStat | None:
        self._gate("stat")
        full = self._p(path)
        if full in self.storage.dirs:
            return ShareStat(0, True)
        if full in self.storage.files:
            return ShareStat(len(self.storage.files[full]), False)
        return None

    def makedirs(self, path: str) -> None:
        self._gate("mkdir")
        parts = self._p(path).split("/")
        for i in range(1, len(parts) + 1):
            self.storage.dirs.add("/".join(parts[:i]))

    def create(self, path: str) -> BinaryIO:
        self._gate("create")
        full = self._p(path)
        if full.rpartition("/")[0] not in self.storage.dirs:
            raise PathFaultError(self._message("path not found", f"creating {path}"))
        self.storage.files[full] = bytearray()
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
        if s in self.storage.files:
            self.storage.files[d] = self.storage.files.pop(s)
            return
        if s not in self.storage.dirs:
            raise self._missing(s, f"renaming {src}")
        prefix = s + "/"
        for p in [p for p in self.storage.files if p.startswith(prefix)]:
            self.storage.files[d + p[len(s):]] = self.storage.files.pop(p)
        for p in [p for p in self.storage.dirs if p == s or p.startswith(prefix)]:
            self.storage.dirs.discard(p)
            self.storage.dirs.add(d + p[len(s):])

    def remove(self, path: str) -> None:
        self._gate("delete")
        self.storage.files.pop(self._p(path), None)

    def rmtree(self, path: str) -> None:
        self._gate("delete")
        full = self._p(path)
        prefix = full + "/"
        for p in [p for p in self.storage.files if p.startswith(prefix)]:
            del self.storage.files[p]
        self.storage.dirs = {p for p in self.storage.dirs if p != full and not p.startswith(prefix)}

    def free_space(self) -> int:
        self._gate("statfs")
        free = max(0, self.storage.capacity - self.storage.used)
        return free - free % ALLOCATION_UNIT

    def total_space(self) -> int:
        self._gate("statfs")
        return self.storage.capacity - self.storage.capacity % ALLOCATION_UNIT
