"""SMB2 SET_INFO (MS-SMB2 3.3.5.21): what impacket gets wrong or lacks, fixed.

End-of-file really truncates (and a new allocation size counts as a write for read caches),
delete-on-close works for files and empty directories (and refuses non-empty ones), rename
works for directories and across folders under the share-mode table's lock, the open's
position can be set, and rename, delete-on-close, end-of-file, allocation and basic information
are refused as smbd refuses them without the access each needs.
Security descriptors (security.py) and EAs (eas.py) are set here too. Every other class goes to
impacket. QUERY_INFO is query_info.py.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct

from impacket import smb3structs as smb2
from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_DIRECTORY_NOT_EMPTY,
    STATUS_DISK_FULL,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_OBJECT_NAME_COLLISION,
    STATUS_OBJECT_NAME_INVALID,
    STATUS_OBJECT_PATH_NOT_FOUND,
    STATUS_SUCCESS,
)

from ibs.fake_smb import create_checks, delete_pending, eas, oplock_wire, quota, security
from ibs.fake_smb.access import DELETE, FILE_WRITE_ATTRIBUTES, FILE_WRITE_DATA, allows
from ibs.fake_smb.handler_util import error
from ibs.fake_smb.info_classes import (
    FILE_ALLOCATION_INFORMATION,
    FILE_BASIC_INFORMATION,
    FILE_DISPOSITION_INFORMATION,
    FILE_DISPOSITION_INFORMATION_EX,
    FILE_END_OF_FILE_INFORMATION,
    FILE_FULL_EA_INFORMATION,
    FILE_POSITION_INFORMATION,
    FILE_RENAME_INFORMATION,
    SMB2_0_INFO_FILE,
    granted,
    open_file,
)
from ibs.fake_smb.open_close import resolve_path
from ibs.fake_smb.share_modes import OpenTable


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
    if target != source and not os.path.isdir(source) and not allows(entry, DELETE | FILE_WRITE_ATTRIBUTES):
        return STATUS_ACCESS_DENIED  # smbd's can_rename, after the collision
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
    if delete and not allows(entry, DELETE):
        return STATUS_ACCESS_DENIED  # after read-only, as smbd's can_set_delete_on_close
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
    if new_size != os.fstat(fd).st_size and not allows(entry, FILE_WRITE_DATA):
        return STATUS_ACCESS_DENIED  # a size it already has needs no right (smbd)
    if quota.would_exceed(root, quota_bytes, new_size - os.fstat(fd).st_size):
        return STATUS_DISK_FULL
    os.ftruncate(fd, new_size)  # shrinks as well as grows
    return STATUS_SUCCESS


def _set_position(entry: dict, buf: bytes) -> int:
    (entry["Position"],) = struct.unpack_from("<Q", buf, 0)
    return STATUS_SUCCESS


def _basic_status(conn_data, req, packet) -> int:
    """FileBasicInformation (MS-FSCC 2.4.7) refused as smbd refuses it, else SUCCESS (and
    impacket sets it): without FILE_WRITE_ATTRIBUTES, or making a directory temporary."""
    found, buf = open_file(conn_data, req, packet), req["Buffer"]
    if found is None or len(buf) < 36:
        return STATUS_SUCCESS
    if not allows(found[0], FILE_WRITE_ATTRIBUTES):
        return STATUS_ACCESS_DENIED
    is_dir = stat_mod.S_ISDIR(os.fstat(found[0]["FileHandle"]).st_mode)
    if create_checks.temporary_directory(is_dir, struct.unpack_from("<I", buf, 32)[0]):
        return STATUS_INVALID_PARAMETER
    return STATUS_SUCCESS


def make_set_info_handler(original):
    def set_info_handler(connId, smbServer, recvPacket):
        req = smb2.SMB2SetInfo(recvPacket["Data"])
        cls = req["FileInfoClass"]
        if req["InfoType"] == SMB2_0_INFO_FILE and cls == FILE_ALLOCATION_INFORMATION:
            # A new allocation size may cut the file: read caches are stale (smb2.oplock.batch12).
            found = open_file(smbServer.getConnectionData(connId), req, recvPacket)
            if found is not None and not allows(found[0], FILE_WRITE_DATA):
                return error(STATUS_ACCESS_DENIED)  # even for the size it has (smbd)
            if found is not None:
                oplock_wire.written(smbServer, found[0])
        if req["InfoType"] == security.SMB2_0_INFO_SECURITY or (
                req["InfoType"] == SMB2_0_INFO_FILE and cls == FILE_FULL_EA_INFORMATION):
            return _set_security_or_eas(smbServer.getConnectionData(connId), req, recvPacket)
        if req["InfoType"] == SMB2_0_INFO_FILE and cls == FILE_BASIC_INFORMATION:
            status = _basic_status(smbServer.getConnectionData(connId), req, recvPacket)
            if status != STATUS_SUCCESS:
                return error(status)
        if req["InfoType"] != SMB2_0_INFO_FILE or cls not in (
            FILE_RENAME_INFORMATION,
            FILE_DISPOSITION_INFORMATION,
            FILE_DISPOSITION_INFORMATION_EX,
            FILE_END_OF_FILE_INFORMATION,
            FILE_POSITION_INFORMATION,
        ):
            return original(connId, smbServer, recvPacket)
        conn_data = smbServer.getConnectionData(connId)
        found = open_file(conn_data, req, recvPacket)
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


def _set_security_or_eas(conn_data, req, packet):
    """SET_INFO of a security descriptor (security.py) or of EAs (eas.py)."""
    found = open_file(conn_data, req, packet)
    if found is None:
        return error(STATUS_INVALID_HANDLE)
    entry = found[0]
    if req["InfoType"] == security.SMB2_0_INFO_SECURITY:
        status = security.set_info(entry, req["AdditionalInformation"], req["Buffer"])
    else:
        status = eas.set_info(entry["FileHandle"], granted(entry), req["Buffer"])
    if status != STATUS_SUCCESS:
        return error(status)
    return [smb2.SMB2SetInfo_Response()], None, STATUS_SUCCESS
