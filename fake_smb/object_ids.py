"""FSCTL_CREATE_OR_GET_OBJECT_ID (MS-FSCC 2.3.7): a file's 16-byte object id, as smbd gives it.

smbd keeps no object ids: it derives one from the file's identity (device and inode, so
the same file has the same id from every open, across renames, for as long as it exists)
and answers the FILE_OBJECTID_BUFFER (MS-FSCC 2.1.3.1) with that id as ObjectId and
BirthObjectId, an id of the share as BirthVolumeId and a zero DomainId, cut to the
client's MaxOutputResponse without complaint.  fake_smb answers the same
(smbtorture smb2.compound.related3 asks for it inside a compound).
"""

from __future__ import annotations

import hashlib
import os
import struct

from ibs.fake_smb.fsctl_request import Fsctl
from ibs.fake_smb.handler_util import share_root

FSCTL_CREATE_OR_GET_OBJECT_ID = 0x000900C0
_BUFFER_SIZE = 64


def object_id(st: os.stat_result) -> bytes:
    """The file's object id: its device and inode, little-endian (smbd's push_file_id_16)."""
    return struct.pack("<QQ", st.st_dev, st.st_ino)


def volume_id(root: str) -> bytes:
    """An id of the share, the same for every file in it (smbd hashes the share's name)."""
    return hashlib.sha256(os.path.realpath(root).encode()).digest()[:16]


def create_or_get(req: Fsctl):
    oid = object_id(os.fstat(req.entry["FileHandle"]))
    root = share_root(req.conn_data, req.tree_id) or ""
    buffer = oid + volume_id(root) + oid + b"\x00" * 16
    return req.answer(buffer[: min(req.max_output, _BUFFER_SIZE)])
