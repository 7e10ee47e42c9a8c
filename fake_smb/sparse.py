"""Which files are sparse (MS-FSA 2.1.1.5, Stream.IsSparse), and the attribute that says so.

FSCTL_SET_SPARSE sets and clears the flag (fake_smb/sparse_fsctl.py); every answer that
reports a file's attributes (CREATE, CLOSE, QUERY_INFO, QUERY_DIRECTORY) adds
FILE_ATTRIBUTE_SPARSE_FILE for it. Samba keeps the flag in the file's DOS attributes (an
extended attribute); fake_smb keeps it here, by device and inode, for every server of the
process, because those answers are built from a stat result alone. So the flag lasts as long
as the file, across opens and connections; a new file, or one overwritten or superseded,
starts out not sparse (open_close forgets it: Samba replaces the attributes on overwrite, and a
new file may reuse the inode of a deleted sparse one).
"""

from __future__ import annotations

import os
import threading

FILE_ATTRIBUTE_SPARSE_FILE = 0x00000200
FILE_SUPPORTS_SPARSE_FILES = 0x00000040  # in FileFsAttributeInformation (MS-FSCC 2.5.1)

_lock = threading.Lock()
_sparse: set[tuple[int, int]] = set()


def _key(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def is_sparse(st: os.stat_result) -> bool:
    return _key(st) in _sparse


def attribute(st: os.stat_result) -> int:
    """FILE_ATTRIBUTE_SPARSE_FILE if the file is sparse, else 0."""
    return FILE_ATTRIBUTE_SPARSE_FILE if _key(st) in _sparse else 0


def mark(st: os.stat_result, sparse: bool) -> None:
    with _lock:
        if sparse:
            _sparse.add(_key(st))
        else:
            _sparse.discard(_key(st))


def forget(st: os.stat_result) -> None:
    """The file is new (or its contents and attributes were replaced): not sparse."""
    mark(st, False)
