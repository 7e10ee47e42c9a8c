"""SMB2 QUERY_INFO (MS-SMB2 3.3.5.20): what impacket gets wrong or lacks, answered here.

The open's granted access (FileAccessInformation) and position, the classes impacket lacks that
Samba answers, times to the 100 ns rather than whole seconds, real free space (or the quota),
and every answer held to the client's OutputBufferLength: below the class's fixed size is
INFO_LENGTH_MISMATCH, below the whole answer is BUFFER_OVERFLOW with what fits (3.3.5.20.1,
3.3.5.20.2). A class that needs FILE_READ_ATTRIBUTES or FILE_READ_EA is refused without it.
Security descriptors (security.py) and EAs (eas.py) are read here too. Every other class is
impacket's answer. SET_INFO is set_info.py.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct

from impacket import smb3structs as smb2
from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_BUFFER_OVERFLOW,
    STATUS_INFO_LENGTH_MISMATCH,
    STATUS_INVALID_HANDLE,
    STATUS_SUCCESS,
)

from ibs.fake_smb import eas, quota, security, sparse
from ibs.fake_smb.handler_util import RawBody, error, times_and_sizes
from ibs.fake_smb.info_classes import (
    FILE_ACCESS_INFORMATION,
    FILE_ALIGNMENT_INFORMATION,
    FILE_ALL_INFORMATION,
    FILE_ALTERNATE_NAME_INFORMATION,
    FILE_ATTRIBUTE_TAG_INFORMATION,
    FILE_BASIC_INFORMATION,
    FILE_COMPRESSION_INFORMATION,
    FILE_EA_INFORMATION,
    FILE_FS_ATTRIBUTE_INFORMATION,
    FILE_FS_CONTROL_INFORMATION,
    FILE_FS_FULL_SIZE_INFORMATION,
    FILE_FS_OBJECTID_INFORMATION,
    FILE_FS_SECTOR_SIZE_INFORMATION,
    FILE_FS_SIZE_INFORMATION,
    FILE_FULL_EA_INFORMATION,
    FILE_INTERNAL_INFORMATION,
    FILE_MODE_INFORMATION,
    FILE_NETWORK_OPEN_INFORMATION,
    FILE_NORMALIZED_NAME_INFORMATION,
    FILE_POSITION_INFORMATION,
    FILE_STANDARD_INFORMATION,
    SMB2_0_INFO_FILE,
    SMB2_0_INFO_FILESYSTEM,
    granted,
    open_file,
    position,
)

# The fixed part of each class's answer, as Samba holds OutputBufferLength to it
# (smbtorture smb2.getinfo.qfile_buffercheck and qfs_buffercheck).
_FIXED_SIZE = {
    SMB2_0_INFO_FILE: {4: 40, 5: 24, 6: 8, 7: 4, 8: 4, 14: 8, 16: 4, 17: 4, 18: 104, 21: 8,
                       22: 32, 28: 16, 34: 56, 35: 8},
    SMB2_0_INFO_FILESYSTEM: {1: 24, 3: 24, 4: 8, 5: 16, 6: 48, 7: 32, 8: 64, 11: 28},
}
_NO_LIMIT = 0xFFFFFFFFFFFFFFFF
# FileFsAttributeInformation (MS-FSCC 2.5.1): impacket's answer, plus sparse files.
FILE_CASE_SENSITIVE_SEARCH = 0x00000001
FILE_CASE_PRESERVED_NAMES = 0x00000002
FS_ATTRIBUTES = FILE_CASE_SENSITIVE_SEARCH | FILE_CASE_PRESERVED_NAMES | sparse.FILE_SUPPORTS_SPARSE_FILES
_FS_NAME = "XTFS".encode("utf-16le")
FILE_READ_EA = 0x00000008
FILE_READ_ATTRIBUTES = 0x00000080

_SECTOR = 512
_SECTORS_PER_UNIT = 8
_UNIT = _SECTOR * _SECTORS_PER_UNIT


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


_OWN_FILE_CLASSES = (
    FILE_BASIC_INFORMATION, FILE_STANDARD_INFORMATION, FILE_INTERNAL_INFORMATION,
    FILE_NETWORK_OPEN_INFORMATION, FILE_ACCESS_INFORMATION, FILE_POSITION_INFORMATION, FILE_MODE_INFORMATION,
    FILE_ALIGNMENT_INFORMATION, FILE_ALTERNATE_NAME_INFORMATION, FILE_COMPRESSION_INFORMATION,
    FILE_ALL_INFORMATION, FILE_NORMALIZED_NAME_INFORMATION, FILE_EA_INFORMATION, FILE_FULL_EA_INFORMATION,
)


def _query_file_info(original, connId, smbServer, recvPacket, req):
    """The classes about the open (its position, its granted access) and those
    impacket lacks; the open's position and access inside FileAllInformation,
    which impacket always answers as 0; every other class is impacket's."""
    cls = req["FileInfoClass"]
    if cls not in _OWN_FILE_CLASSES:
        return original(connId, smbServer, recvPacket)
    found = open_file(smbServer.getConnectionData(connId), req, recvPacket)
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
    if cls == FILE_FULL_EA_INFORMATION:
        status, data = eas.query(entry["FileHandle"])
        return _info_response(data) if status == STATUS_SUCCESS else error(status)
    if cls == FILE_EA_INFORMATION:  # MS-FSCC 2.4.12
        return _info_response(struct.pack("<I", eas.ea_size(entry["FileHandle"])))
    if cls == FILE_ACCESS_INFORMATION:  # MS-FSCC 2.4.1
        return _info_response(struct.pack("<I", granted(entry)))
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
        info["AccessInformation"]["AccessFlags"] = granted(entry)
        info["ModeInformation"]["mode"] = 0
        info["EaInformation"]["EaSize"] = eas.ea_size(entry["FileHandle"])  # impacket's is the attributes
        # The name from the share's root, as Samba gives it: "\\dir\\file", "\\" for the root.
        rel = os.path.relpath(entry["FileName"], root)
        name = ("\\" + ("" if rel == "." else rel.replace(os.sep, "\\"))).encode("utf-16le")
        info["NameInformation"]["FileName"] = name
        info["NameInformation"]["FileNameLength"] = len(name)
    return commands, packets, status


def _query_fs_info(original, connId, smbServer, recvPacket, req):
    cls = req["FileInfoClass"]
    if cls not in (FILE_FS_SIZE_INFORMATION, FILE_FS_FULL_SIZE_INFORMATION, FILE_FS_CONTROL_INFORMATION,
                   FILE_FS_OBJECTID_INFORMATION, FILE_FS_SECTOR_SIZE_INFORMATION,
                   FILE_FS_ATTRIBUTE_INFORMATION):
        return original(connId, smbServer, recvPacket)
    found = open_file(smbServer.getConnectionData(connId), req, recvPacket)
    if found is None:
        return error(STATUS_INVALID_HANDLE)
    _entry, root = found
    cfg = smbServer.fake_config
    if cls == FILE_FS_CONTROL_INFORMATION:  # MS-FSCC 2.5.2: no quotas, no limits
        return _info_response(struct.pack("<QQQQQI4x", 0, 0, 0, _NO_LIMIT, _NO_LIMIT, 0))
    if cls == FILE_FS_OBJECTID_INFORMATION:  # 2.5.6: no object id
        return _info_response(bytes(64))
    if cls == FILE_FS_ATTRIBUTE_INFORMATION:  # 2.5.1: names up to 255 characters
        return _info_response(struct.pack("<III", FS_ATTRIBUTES, 255, len(_FS_NAME)) + _FS_NAME)
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
    found = open_file(conn_data, req, packet)
    return found is not None and not granted(found[0]) & needed


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
        elif req["InfoType"] == security.SMB2_0_INFO_SECURITY:  # its own buffer rule (3.3.5.20.3)
            found = open_file(smbServer.getConnectionData(connId), req, recvPacket)
            if found is None:
                return error(STATUS_INVALID_HANDLE)
            return security.query_info(found[0], req["AdditionalInformation"], req["OutputBufferLength"])
        else:
            return original(connId, smbServer, recvPacket)
        return _fit(req, answer)

    return query_info_handler
