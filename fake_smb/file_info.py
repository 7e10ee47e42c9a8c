"""SMB2 SET_INFO and QUERY_INFO (MS-SMB2 3.3.5.21, 3.3.5.20).

Fixed against impacket: end-of-file really truncates, delete-on-close works
for files and empty directories (and refuses non-empty ones), and rename
works for directories and across folders.  Free space is real (or the quota).
QUERY_INFO answers the open's granted access (FileAccessInformation), the
classes impacket lacks that Samba answers, and holds every answer to the
client's OutputBufferLength: below the class's fixed size is
INFO_LENGTH_MISMATCH, below the whole answer is BUFFER_OVERFLOW with what fits
(3.3.5.20.1, 3.3.5.20.2).  Every other information class goes to impacket.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct

from impacket import smb3structs as smb2
from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_BUFFER_OVERFLOW,
    STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_DISK_FULL,
    STATUS_INFO_LENGTH_MISMATCH,
    STATUS_INVALID_HANDLE,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_OBJECT_NAME_INVALID,
    STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_SUCCESS,
)

from ibs.fake_smb import delete_pending, oplock_wire, quota
from ibs.fake_smb.access import FILE_ALL_ACCESS, GRANTED_KEY
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid, share_root, times_and_sizes
from ibs.fake_smb.open_close import resolve_path
from ibs.fake_smb.share_modes import OpenTable

SMB2_0_INFO_FILE = 0x01
SMB2_0_INFO_FILESYSTEM = 0x02
# File information classes (MS-FSCC 2.4)
FILE_BASIC_INFORMATION = 4
FILE_STANDARD_INFORMATION = 5
FILE_INTERNAL_INFORMATION = 6
FILE_ACCESS_INFORMATION = 8
FILE_RENAME_INFORMATION = 10
FILE_DISPOSITION_INFORMATION = 13
FILE_POSITION_INFORMATION = 14
FILE_MODE_INFORMATION = 16
FILE_FULL_EA_INFORMATION = 15
FILE_ALIGNMENT_INFORMATION = 17
FILE_ALL_INFORMATION = 18
FILE_ALLOCATION_INFORMATION = 19
FILE_END_OF_FILE_INFORMATION = 20
FILE_ALTERNATE_NAME_INFORMATION = 21
FILE_COMPRESSION_INFORMATION = 28
FILE_NETWORK_OPEN_INFORMATION = 34
FILE_ATTRIBUTE_TAG_INFORMATION = 35
FILE_NORMALIZED_NAME_INFORMATION = 48
FILE_DISPOSITION_INFORMATION_EX = 64
# File system information classes (MS-FSCC 2.5)
FILE_FS_SIZE_INFORMATION = 3
FILE_FS_CONTROL_INFORMATION = 6
FILE_FS_FULL_SIZE_INFORMATION = 7
FILE_FS_OBJECTID_INFORMATION = 8
FILE_FS_SECTOR_SIZE_INFORMATION = 11

# The fixed part of each class's answer, as Samba holds OutputBufferLength to it
# (smbtorture smb2.getinfo.qfile_buffercheck and qfs_buffercheck).
_FIXED_SIZE = {
    SMB2_0_INFO_FILE: {4: 40, 5: 24, 6: 8, 7: 4, 8: 4, 14: 8, 16: 4, 17: 4, 18: 104, 21: 8,
                       22: 32, 28: 16, 34: 56, 35: 8},
    SMB2_0_INFO_FILESYSTEM: {1: 24, 3: 24, 4: 8, 5: 16, 6: 48, 7: 32, 8: 64, 11: 28},
}
_NO_LIMIT = 0xFFFFFFFFFFFFFFFF
FILE_READ_EA = 0x00000008
FILE_READ_ATTRIBUTES = 0x00000080

_SECTOR = 512
_SECTORS_PER_UNIT = 8
_UNIT = _SECTOR * _SECTORS_PER_UNIT


def _rename(entry: dict, root: str, buf: bytes, table: OpenTable) -> int:
    with table.lock:  # no CREATE between the share mode checks and the rename
        return _rename_locked(entry, root, buf)


def _rename_locked(entry: dict, root: str, buf: bytes) -> int:
    # FILE_RENAME_INFORMATION_TYPE_2: ReplaceIfExists(1) Reserved(7)
    # RootDirectory(8) FileNameLength(4) FileName (MS-FSCC 2.4.37.2)
    replace = buf[0] != 0
    (name_len,) = struct.unpack_from("<I", buf, 16)
    target = resolve_path(root, buf[20 : 20 + name_len].decode("utf-16le"))
    if target is None:
        return STATUS_OBJECT_NAME_INVALID
    source = entry["FileName"]
    if not os.path.isdir(os.path.dirname(target)):
        return STATUS_OBJECT_PATH_NOT_FOUND
    if (os.path.lexists(target) and os.path.realpath(target) != os.path.realpath(source)
            and (not replace or os.path.isdir(target))):
        return STATUS_OBJECT_NAME_COLLISION
    share_mode = entry.get("ShareMode")
    if share_mode is not None:
        status = share_mode.table.rename_status(share_mode, target)
        if status != STATUS_SUCCESS:
            return status
    try:
        os.replace(source, target)
    except OSError:
        return STATUS_ACCESS_DENIED
    entry["FileName"] = target
    if share_mode is not None:
        share_mode.table.renamed(share_mode, target)
    return STATUS_SUCCESS


def _disposition(entry: dict, delete: bool) -> int:
    path = entry["FileName"]
    status = delete_pending.disposition_status(os.fstat(entry["FileHandle"]), delete)
    if status != STATUS_SUCCESS:
        return status
    if delete and os.path.isdir(path):
        with os.scandir(path) as it:
            if next(it, None) is not None:
                return STATUS_DIRECTORY_NOT_EMPTY
    delete_pending.set_disposition(entry, delete)
    return STATUS_SUCCESS


def _end_of_file(entry: dict, root: str, quota_bytes: int | None, buf: bytes) -> int:
    (new_size,) = struct.unpack_from("<Q", buf, 0)
    fd = entry["FileHandle"]
    if stat_mod.S_ISDIR(os.fstat(fd).st_mode):
        return STATUS_ACCESS_DENIED
    if quota.would_exceed(root, quota_bytes, new_size - os.fstat(fd).st_size):
        return STATUS_DISK_FULL
    os.ftruncate(fd, new_size)  # shrinks as well as grows
    return STATUS_SUCCESS


def position(entry: dict) -> int:
    """The open's CurrentByteOffset (MS-FSCC 2.4.35): a READ moves it past what it
    returned (file_io), SET_INFO sets it; a WRITE leaves it, as in Samba."""
    return entry.get("Position", 0)


def _set_position(entry: dict, buf: bytes) -> int:
    (entry["Position"],) = struct.unpack_from("<Q", buf, 0)
    return STATUS_SUCCESS


def _open_file(conn_data, req, packet):
    """The open file a SET_INFO or QUERY_INFO names, and its share's root; None if unknown."""
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, req["FileID"].getData()))
    root = share_root(conn_data, packet["TreeID"])
    return None if entry is None or root is None else (entry, root)


def make_set_info_handler(original):
    def set_info_handler(connId, smbServer, recvPacket):
        req = smb2.SMB2SetInfo(recvPacket["Data"])
        cls = req["FileInfoClass"]
        if req["InfoType"] == SMB2_0_INFO_FILE and cls == FILE_ALLOCATION_INFORMATION:
            # A new allocation size may cut the file: read caches are stale (smb2.oplock.batch12).
            found = _open_file(smbServer.getConnectionData(connId), req, recvPacket)
            if found is not None:
                oplock_wire.written(smbServer, found[0])
        if req["InfoType"] != SMB2_0_INFO_FILE or cls not in (
            FILE_RENAME_INFORMATION,
            FILE_DISPOSITION_INFORMATION,
            FILE_DISPOSITION_INFORMATION_EX,
            FILE_END_OF_FILE_INFORMATION,
            FILE_POSITION_INFORMATION,
        ):
            return original(connId, smbServer, recvPacket)
        conn_data = smbServer.getConnectionData(connId)
        found = _open_file(conn_data, req, recvPacket)
        if found is None:
            return error(STATUS_INVALID_HANDLE)
        entry, root = found
        buf = req["Buffer"]
        if cls == FILE_RENAME_INFORMATION:
            status = _rename(entry, root, buf, smbServer.open_table)
        elif cls == FILE_END_OF_FILE_INFORMATION:
            status = _end_of_file(entry, root, smbServer.fake_config.quota_bytes, buf)
            oplock_wire.written(smbServer, entry)  # read caches of the file are stale
        elif cls == FILE_POSITION_INFORMATION:
            status = _set_position(entry, buf)
        else:
            # FileDispositionInformation(Ex): bit 0 is DeletePending / FILE_DISPOSITION_DELETE.
            status = _disposition(entry, bool(buf[0] & 1))
        if status != STATUS_SUCCESS:
            return error(status)
        return [smb2.SMB2SetInfo_Response()], None, STATUS_SUCCESS

    return set_info_handler


def _fs_size(root: str, quota_bytes: int | None, full: bool, unit: int = _UNIT) -> bytes:
    total, free = quota.space(root, quota_bytes)
    total_units, free_units = total // unit, free // unit
    sector = _SECTOR if unit % _SECTOR == 0 else unit
    per_unit = unit // sector
    if full:  # FILE_FS_FULL_SIZE_INFORMATION (MS-FSCC 2.5.4)
        return struct.pack("<QQQII", total_units, free_units, free_units, per_unit, sector)
    return struct.pack("<QQII", total_units, free_units, per_unit, sector)  # 2.5.8


def _info_response(info: bytes):
    # QUERY_INFO response (2.2.38): StructureSize 9, OutputBufferOffset 0x48, length.
    return [RawBody(struct.pack("<HHI", 9, 0x48, len(info)) + info)], None, STATUS_SUCCESS


def _fit(req, answer):
    """The answer held to the request's OutputBufferLength (3.3.5.20.1)."""
    commands, _packets, status = answer
    if status != STATUS_SUCCESS:
        return answer
    body = commands[0]
    if isinstance(body, RawBody):
        info = body.data[8:]
    else:
        buf = body["Buffer"]
        info = buf.getData() if hasattr(buf, "getData") else bytes(buf)
    limit = req["OutputBufferLength"]
    fixed = _FIXED_SIZE.get(req["InfoType"], {}).get(req["FileInfoClass"], 0)
    if limit < fixed:
        return error(STATUS_INFO_LENGTH_MISMATCH)
    if len(info) > limit:
        info = info[:limit]
        return [RawBody(struct.pack("<HHI", 9, 0x48, len(info)) + info)], None, STATUS_BUFFER_OVERFLOW
    return _info_response(info)


def short_name(name: str) -> str:
    """An 8.3 name for ``name``: itself in capitals when it is one, else a plain
    NAME~1.EXT mangle (no collision check: fake_smb never opens by short name)."""
    stem, _dot, ext = name.rpartition(".") if "." in name.strip(".") else (name, "", "")
    keep = lambda part: "".join(c for c in part.upper() if c.isascii() and (c.isalnum() or c in "_-$~!#%&"))
    if len(stem) <= 8 and len(ext) <= 3 and keep(stem) == stem.upper() and keep(ext) == ext.upper() and stem:
        return name.upper()
    return keep(stem)[:6] + "~1" + ("." + keep(ext)[:3] if keep(ext) else "")


def _times_info(cls: int, st: os.stat_result) -> bytes:
    """FileBasic-, FileStandard- and FileNetworkOpenInformation (MS-FSCC 2.4.7, 2.4.41,
    2.4.29) from the one source of times and sizes CREATE, CLOSE and directory listings
    use: impacket's own rounds the times to whole seconds and reports the write time
    as the change time."""
    t = times_and_sizes(st)
    times = (t["CreationTime"], t["LastAccessTime"], t["LastWriteTime"], t["ChangeTime"])
    if cls == FILE_BASIC_INFORMATION:
        return struct.pack("<QQQQI4x", *times, t["FileAttributes"])
    if cls == FILE_STANDARD_INFORMATION:
        is_dir = stat_mod.S_ISDIR(st.st_mode)
        return struct.pack("<QQIBB2x", t["AllocationSize"], t["EndOfFile"], st.st_nlink, 0, is_dir)
    return struct.pack("<QQQQQQI4x", *times, t["AllocationSize"], t["EndOfFile"], t["FileAttributes"])


def _granted(entry: dict) -> int:
    return entry.get(GRANTED_KEY, FILE_ALL_ACCESS)


_OWN_FILE_CLASSES = (
    FILE_BASIC_INFORMATION, FILE_STANDARD_INFORMATION, FILE_INTERNAL_INFORMATION,
    FILE_NETWORK_OPEN_INFORMATION, FILE_ACCESS_INFORMATION, FILE_POSITION_INFORMATION, FILE_MODE_INFORMATION,
    FILE_ALIGNMENT_INFORMATION, FILE_ALTERNATE_NAME_INFORMATION, FILE_COMPRESSION_INFORMATION,
    FILE_ALL_INFORMATION, FILE_NORMALIZED_NAME_INFORMATION,
)


def _query_file_info(original, connId, smbServer, recvPacket, req):
    """The classes about the open (its position, its granted access) and those
    impacket lacks; the open's position and access inside FileAllInformation,
    which impacket always answers as 0; every other class is impacket's."""
    cls = req["FileInfoClass"]
    if cls not in _OWN_FILE_CLASSES:
        return original(connId, smbServer, recvPacket)
    found = _open_file(smbServer.getConnectionData(connId), req, recvPacket)
    if found is None:
        return error(STATUS_INVALID_HANDLE)
    entry, root = found
    st = os.fstat(entry["FileHandle"])
    if cls in (FILE_BASIC_INFORMATION, FILE_NETWORK_OPEN_INFORMATION, FILE_STANDARD_INFORMATION):
        return _info_response(_times_info(cls, st))
    if cls == FILE_INTERNAL_INFORMATION:  # 2.4.22: the file's number, as directory listings give it
        return _info_response(struct.pack("<Q", st.st_ino))
    if cls == FILE_POSITION_INFORMATION:
        return _info_response(struct.pack("<Q", position(entry)))
    if cls == FILE_NORMALIZED_NAME_INFORMATION:  # 2.4.30: the path from the share's root
        rel = os.path.relpath(entry["FileName"], root)
        name = ("" if rel == "." else rel.replace(os.sep, "\\")).encode("utf-16le")
        return _info_response(struct.pack("<I", len(name)) + name)
    if cls == FILE_ACCESS_INFORMATION:  # MS-FSCC 2.4.1
        return _info_response(struct.pack("<I", _granted(entry)))
    if cls in (FILE_MODE_INFORMATION, FILE_ALIGNMENT_INFORMATION):  # 2.4.26, 2.4.3
        return _info_response(struct.pack("<I", 0))
    if cls == FILE_ALTERNATE_NAME_INFORMATION:  # 2.4.5
        name = short_name(os.path.basename(entry["FileName"])).encode("utf-16le")
        return _info_response(struct.pack("<I", len(name)) + name)
    if cls == FILE_COMPRESSION_INFORMATION:  # 2.4.9: uncompressed
        size = 0 if stat_mod.S_ISDIR(os.stat(entry["FileName"]).st_mode) else os.path.getsize(entry["FileName"])
        return _info_response(struct.pack("<QHBBB3x", size, 0, 0, 0, 0))
    commands, packets, status = original(connId, smbServer, recvPacket)
    info = commands[0]["Buffer"] if status == STATUS_SUCCESS else None
    if isinstance(info, smb2.FILE_ALL_INFORMATION):
        times = times_and_sizes(st)
        basic = info["BasicInformation"]
        for key in ("CreationTime", "LastAccessTime", "LastWriteTime", "ChangeTime", "FileAttributes"):
            basic[key] = times[key]
        info["StandardInformation"]["AllocationSize"] = times["AllocationSize"]
        info["StandardInformation"]["EndOfFile"] = times["EndOfFile"]
        info["PositionInformation"]["CurrentByteOffset"] = position(entry)
        info["AccessInformation"]["AccessFlags"] = _granted(entry)
        info["ModeInformation"]["mode"] = 0
        info["EaInformation"]["EaSize"] = 0  # impacket puts the attributes there
    return commands, packets, status


def _query_fs_info(original, connId, smbServer, recvPacket, req):
    cls = req["FileInfoClass"]
    if cls not in (FILE_FS_SIZE_INFORMATION, FILE_FS_FULL_SIZE_INFORMATION, FILE_FS_CONTROL_INFORMATION,
                   FILE_FS_OBJECTID_INFORMATION, FILE_FS_SECTOR_SIZE_INFORMATION):
        return original(connId, smbServer, recvPacket)
    found = _open_file(smbServer.getConnectionData(connId), req, recvPacket)
    if found is None:
        return error(STATUS_INVALID_HANDLE)
    _entry, root = found
    cfg = smbServer.fake_config
    if cls == FILE_FS_CONTROL_INFORMATION:  # MS-FSCC 2.5.2: no quotas, no limits
        return _info_response(struct.pack("<QQQQQI4x", 0, 0, 0, _NO_LIMIT, _NO_LIMIT, 0))
    if cls == FILE_FS_OBJECTID_INFORMATION:  # 2.5.6: no object id
        return _info_response(bytes(64))
    if cls == FILE_FS_SECTOR_SIZE_INFORMATION:  # 2.5.7: 512-byte sectors, aligned
        return _info_response(struct.pack("<7I", *([_SECTOR] * 4), 0x3, 0, 0))
    info = _fs_size(root, cfg.quota_bytes, cls == FILE_FS_FULL_SIZE_INFORMATION,
                    cfg.allocation_unit)
    return _info_response(info)


# The file information classes an open may read only with FILE_READ_ATTRIBUTES, and
# FileFullEaInformation only with FILE_READ_EA (MS-FSA 2.1.5.11; smbtorture
# smb2.getinfo.getinfo_access); every other class answers whatever the open's access.
_NEEDED_ACCESS = {
    FILE_BASIC_INFORMATION: FILE_READ_ATTRIBUTES,
    FILE_ALL_INFORMATION: FILE_READ_ATTRIBUTES,
    FILE_NETWORK_OPEN_INFORMATION: FILE_READ_ATTRIBUTES,
    FILE_ATTRIBUTE_TAG_INFORMATION: FILE_READ_ATTRIBUTES,
    FILE_FULL_EA_INFORMATION: FILE_READ_EA,
}


def _access_denied(conn_data: dict, req, packet) -> bool:
    needed = _NEEDED_ACCESS.get(req["FileInfoClass"])
    if needed is None:
        return False
    found = _open_file(conn_data, req, packet)
    return found is not None and not _granted(found[0]) & needed


def make_query_info_handler(original):
    def query_info_handler(connId, smbServer, recvPacket):
        req = smb2.SMB2QueryInfo(recvPacket["Data"])
        if req["InfoType"] == SMB2_0_INFO_FILE:
            fixed = _FIXED_SIZE[SMB2_0_INFO_FILE].get(req["FileInfoClass"], 0)
            if req["OutputBufferLength"] >= fixed and _access_denied(
                    smbServer.getConnectionData(connId), req, recvPacket):
                return error(STATUS_ACCESS_DENIED)
            answer = _query_file_info(original, connId, smbServer, recvPacket, req)
        elif req["InfoType"] == SMB2_0_INFO_FILESYSTEM:
            answer = _query_fs_info(original, connId, smbServer, recvPacket, req)
        else:
            return original(connId, smbServer, recvPacket)
        return _fit(req, answer)

    return query_info_handler
