"""Share modes: the server-wide table of opens, and the checks made against it.

impacket keeps each connection's opens in its own connData, so no connection
sees another's.  Share access is a property of the file, not of the
connection (MS-FSA 2.1.5.1.2): this table holds every open of the server,
keyed by the file's identity (device, inode), so that a rename of the file,
or a second name for it, does not hide an open.  CREATE adds to it
(open_close.py), release.py takes out of it, whatever ends the open.

One lock covers a check and the file system change it guards (a CREATE's
open or truncation, a rename), so two connections cannot both pass a check
that only one of them may pass.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from impacket.nt_errors import STATUS_ACCESS_DENIED, STATUS_SHARING_VIOLATION, STATUS_SUCCESS

from ibs.fake_smb.access import granted

# Access mask bits (MS-DTYP 2.4.3, MS-SMB2 2.2.13.1)
FILE_READ_DATA = 0x00000001
FILE_WRITE_DATA = 0x00000002
FILE_APPEND_DATA = 0x00000004
FILE_EXECUTE = 0x00000020
DELETE = 0x00010000
# ShareAccess (MS-SMB2 2.2.13)
FILE_SHARE_READ = 0x1
FILE_SHARE_WRITE = 0x2
FILE_SHARE_DELETE = 0x4

_READS = FILE_READ_DATA | FILE_EXECUTE
_WRITES = FILE_WRITE_DATA | FILE_APPEND_DATA
_DATA = _READS | _WRITES | DELETE

Key = tuple[int, int]


def file_key(st: os.stat_result) -> Key:
    return st.st_dev, st.st_ino


def share_relevant(desired: int) -> int:
    """The rights of a CREATE's access mask that share modes weigh: read, write, execute,
    delete (MS-FSA 2.1.5.1.2), generic rights and MAXIMUM_ALLOWED mapped as access.granted
    maps them."""
    return granted(desired) & _DATA


def conflicts(held_access: int, held_share: int, access: int, share: int) -> bool:
    """The share access check between one existing open and a new one (MS-FSA 2.1.5.1.2).
    An open that neither reads, writes nor deletes (attributes only) neither refuses nor
    is refused."""
    if not held_access & _DATA or not access & _DATA:
        return False
    return bool(
        (held_access & _READS and not share & FILE_SHARE_READ)
        or (held_access & _WRITES and not share & FILE_SHARE_WRITE)
        or (held_access & DELETE and not share & FILE_SHARE_DELETE)
        or (access & _READS and not held_share & FILE_SHARE_READ)
        or (access & _WRITES and not held_share & FILE_SHARE_WRITE)
        or (access & DELETE and not held_share & FILE_SHARE_DELETE)
    )


@dataclass(eq=False)
class ShareOpen:
    """One open in the table; ``entry`` is impacket's open dict (its FileName is the path)."""

    table: OpenTable
    key: Key
    access: int
    share: int
    entry: dict = field(repr=False)

    def release(self) -> None:
        self.table.remove(self)


class OpenTable:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._opens: dict[Key, list[ShareOpen]] = {}

    def conflicting(self, key: Key, access: int, share: int) -> bool:
        with self.lock:
            return any(conflicts(o.access, o.share, access, share) for o in self._opens.get(key, ()))

    def opens_of(self, key: Key) -> tuple[ShareOpen, ...]:
        with self.lock:
            return tuple(self._opens.get(key, ()))

    def add(self, key: Key, access: int, share: int, entry: dict) -> ShareOpen:
        with self.lock:
            record = ShareOpen(self, key, access, share, entry)
            self._opens.setdefault(key, []).append(record)
            return record

    def remove(self, record: ShareOpen) -> None:
        with self.lock:
            opens = self._opens.get(record.key, [])
            if record in opens:
                opens.remove(record)
            if not opens:
                self._opens.pop(record.key, None)

    def __len__(self) -> int:
        with self.lock:
            return sum(len(v) for v in self._opens.values())

    def rename_status(self, record: ShareOpen, target: str) -> int:
        """Whether the open may rename its file to target (smbtorture smb2.rename)."""
        with self.lock:
            # The access a rename needs is checked before (set_info.py, access.py).
            source = record.entry["FileName"]
            below = source.rstrip(os.sep) + os.sep
            if any(o.entry["FileName"].startswith(below) for opens in self._opens.values() for o in opens):
                return STATUS_ACCESS_DENIED  # a directory with an open file below it
            try:
                parent = file_key(os.stat(os.path.dirname(target)))
            except OSError:
                return STATUS_SUCCESS  # the rename itself answers for a missing folder
            if any(o.access & DELETE for o in self._opens.get(parent, ())):
                # The target folder is open with DELETE access: an open of it to add a name
                # would not share delete.
                return STATUS_SHARING_VIOLATION
            return STATUS_SUCCESS

    def renamed(self, record: ShareOpen, target: str) -> None:
        """Every open of the renamed file now names it by target."""
        with self.lock:
            for o in self._opens.get(record.key, ()):
                o.entry["FileName"] = target
