"""Small helpers shared by the hooked SMB2 command handlers.

impacket's dispatcher calls ``handler(connId, smbServer, recvPacket)`` and
expects ``(respCommands, respPackets, status)``; a response body only needs a
``getData()`` method.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct

from impacket import smb3structs as smb2

from ibs.fake_smb import sparse

FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_ATTRIBUTE_ARCHIVE = 0x20
_EPOCH_AS_FILETIME = 116444736000000000
RELATED_FID = b"\xff" * 16


class RawBody:
    """A response body already packed to bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def getData(self) -> bytes:  # impacket's name for it
        return self.data

    def __len__(self) -> int:
        return len(self.data)


def error(status: int):
    """The (respCommands, respPackets, status) triple of a failed request."""
    return [smb2.SMB2Error()], None, status


def filetime(seconds: float) -> int:
    return _EPOCH_AS_FILETIME + int(seconds * 10_000_000)


def attributes(st: os.stat_result) -> int:
    if stat_mod.S_ISDIR(st.st_mode):
        return FILE_ATTRIBUTE_DIRECTORY
    return FILE_ATTRIBUTE_ARCHIVE | sparse.attribute(st)


def times_and_sizes(st: os.stat_result) -> dict[str, int]:
    """The timestamp/size/attribute fields CREATE and CLOSE responses share."""
    is_dir = stat_mod.S_ISDIR(st.st_mode)
    return {
        "CreationTime": filetime(st.st_ctime),
        "LastAccessTime": filetime(st.st_atime),
        "LastWriteTime": filetime(st.st_mtime),
        "ChangeTime": filetime(st.st_ctime),
        "AllocationSize": 0 if is_dir else st.st_blocks * 512,
        "EndOfFile": 0 if is_dir else st.st_size,
        "FileAttributes": attributes(st),
    }


def resolve_fid(conn_data: dict, raw_fid: bytes) -> bytes:
    """The FileId a handler should look up.

    Compound chains reach the handlers one request at a time with the real FileId already
    in place (compound.py), and impacket empties LastRequest after every request it
    dispatches; so this mapping of the all-0xFF FileId (MS-SMB2 3.3.5.2.7.2) to impacket's
    LastRequest CREATE only matters to a caller that hands impacket a whole chain."""
    if raw_fid == RELATED_FID and "SMB2_CREATE" in conn_data["LastRequest"]:
        return conn_data["LastRequest"]["SMB2_CREATE"]["FileID"]
    return raw_fid


def share_root(conn_data: dict, tree_id: int) -> str | None:
    share = conn_data["ConnectedShares"].get(tree_id)
    if share is None:
        return None
    return share.get("path") or None


def unpack(fmt: str, data: bytes, offset: int = 0) -> tuple:
    return struct.unpack_from(fmt, data, offset)
