"""SMB2 FLUSH (MS-SMB2 3.3.5.11) as smbd answers it.

impacket flushes whatever the open may do and names an unknown open INVALID_HANDLE; smbd
answers FILE_CLOSED for an unknown open and ACCESS_DENIED for one granted neither
FILE_WRITE_DATA nor FILE_APPEND_DATA (on a directory the same bits are FILE_ADD_FILE and
FILE_ADD_SUBDIRECTORY, either of which lets it be flushed), then syncs the file to disk.
"""

from __future__ import annotations

import os
import struct

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_FILE_CLOSED,
    STATUS_INVALID_PARAMETER,
    STATUS_NETWORK_NAME_DELETED,
    STATUS_SUCCESS,
)

from ibs.fake_smb.access import FILE_APPEND_DATA, FILE_WRITE_DATA, allows
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid

_FLUSH_REQUEST = struct.Struct("<HHI16s")  # StructureSize Reserved1 Reserved2 FileId (2.2.17)
_FLUSH_RESPONSE = struct.pack("<HH", 4, 0)  # 2.2.18


def flush_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    if recvPacket["TreeID"] not in conn_data["ConnectedShares"]:
        return error(STATUS_NETWORK_NAME_DELETED)
    body = recvPacket["Data"]
    if len(body) < _FLUSH_REQUEST.size:
        return error(STATUS_INVALID_PARAMETER)
    raw_fid = _FLUSH_REQUEST.unpack_from(body, 0)[3]
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
    if entry is None:
        return error(STATUS_FILE_CLOSED)
    if not allows(entry, FILE_WRITE_DATA | FILE_APPEND_DATA):
        return error(STATUS_ACCESS_DENIED)
    try:
        os.fsync(entry["FileHandle"])
    except OSError as exc:
        smbServer.log(f"flush of {entry['FileName']} failed: {exc}")
        return error(STATUS_ACCESS_DENIED)
    return [RawBody(_FLUSH_RESPONSE)], None, STATUS_SUCCESS
