"""Delete-on-close checks and delete pending (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1, 2.1.5.14.3).

A CREATE asking for FILE_DELETE_ON_CLOSE must also ask for DELETE (INVALID_PARAMETER
otherwise, as Samba answers), and a read-only file cannot be deleted (CANNOT_DELETE),
whether it is opened delete-on-close or set so later by FileDispositionInformation.

The file's delete is pending once FileDispositionInformation sets it, or once an open
made with FILE_DELETE_ON_CLOSE closes while other opens of the file remain (until then
others may still open it, as in Samba).  A pending delete refuses new opens with
DELETE_PENDING until the last open closes and the file goes (release.py).  The mark
lives on the opens (PENDING_KEY), since the file has no record of its own here.
Read-only is the owner's write bit, the one place fake_smb keeps it.
"""

from __future__ import annotations

import os
import stat as stat_mod

from impacket.nt_errors import (
    STATUS_CANNOT_DELETE,
    STATUS_DELETE_PENDING,
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
)

from ibs.fake_smb.share_modes import DELETE, Key, OpenTable, ShareOpen

FILE_ATTRIBUTE_READONLY = 0x00000001
PENDING_KEY = "DeletePending"


def read_only(st: os.stat_result) -> bool:
    return not stat_mod.S_ISDIR(st.st_mode) and not st.st_mode & stat_mod.S_IWUSR


def create_status(granted: int, st: os.stat_result | None, attributes: int) -> int:
    """Whether a CREATE with FILE_DELETE_ON_CLOSE may go on, before anything is created:
    st is the existing file's, None for a new one created with ``attributes``."""
    if not granted & DELETE:
        return STATUS_INVALID_PARAMETER
    new_read_only = st is None and attributes & FILE_ATTRIBUTE_READONLY
    if new_read_only or (st is not None and read_only(st)):
        return STATUS_CANNOT_DELETE
    return STATUS_SUCCESS


def is_pending(table: OpenTable, key: Key) -> bool:
    with table.lock:
        return any(o.entry.get(PENDING_KEY) for o in table.opens_of(key))


def open_status(table: OpenTable, key: Key) -> int:
    """A new open of an existing file (MS-FSA 2.1.5.1.2: DELETE_PENDING before share modes)."""
    return STATUS_DELETE_PENDING if is_pending(table, key) else STATUS_SUCCESS


def disposition_status(st: os.stat_result, delete: bool) -> int:
    """Whether FileDispositionInformation may set delete pending on this file."""
    return STATUS_CANNOT_DELETE if delete and read_only(st) else STATUS_SUCCESS


def set_disposition(entry: dict, delete: bool) -> None:
    """FileDispositionInformation on the open ``entry``: the file's delete is pending
    (or no longer, for every open of it) at once."""
    record = entry.get("ShareMode")
    if record is not None and not delete:
        # The file's pending delete is undone, and so is the delete-on-close an open
        # carries for it; an open made with FILE_DELETE_ON_CLOSE keeps its own.
        with record.table.lock:
            for o in record.table.opens_of(record.key):
                if o.entry.get(PENDING_KEY):
                    o.entry["DeleteOnClose"] = o.entry[PENDING_KEY] = False
    entry["DeleteOnClose"] = delete
    entry[PENDING_KEY] = delete


def pass_on(record: ShareOpen) -> bool:
    """The delete-on-close open ``record`` is closing: if other opens of its file remain,
    one of them carries the pending delete (the file goes with the last close, MS-FSA
    2.1.5.4) and True is answered: the file must stay for now."""
    with record.table.lock:
        others = [o for o in record.table.opens_of(record.key) if o is not record]
        if others:
            others[0].entry["DeleteOnClose"] = others[0].entry[PENDING_KEY] = True
        return bool(others)
