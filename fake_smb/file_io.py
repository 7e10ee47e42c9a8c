"""SMB2 WRITE and READ (MS-SMB2 3.3.5.13, 3.3.5.12).

impacket drops a write that starts past end of file while reporting it as
written, and reads/writes through lseek+read on the shared descriptor; these
use pwrite/pread.  WRITE is also where the quota and the write faults bite.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
import struct

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_DISK_FULL,
    STATUS_END_OF_FILE,
    STATUS_FILE_LOCK_CONFLICT,
    STATUS_INVALID_DEVICE_REQUEST,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
)

from ibs.fake_smb import locks, oplock_wire, quota
from ibs.fake_smb.access import may_read, may_write
from ibs.fake_smb.faults import DropConnection
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid, share_root

_WRITE_REQ = struct.Struct("<HHIQ16s")  # StructureSize .. FileId (MS-SMB2 2.2.21)
_READ_REQ = struct.Struct("<HBBIQ16sI")  # StructureSize .. MinimumCount (2.2.19)

# A READ or WRITE must stay within a signed 64-bit file offset, and a WRITE of some
# data below MAXFILESIZE (MS-FSA 2.1.5.3); past them Samba answers INVALID_PARAMETER
# (smbtorture smb2.rw.invalid).  Offsets arrive unsigned: "negative" ones are huge.
_MAX_OFFSET = (1 << 63) - 1
_MAX_FILE_SIZE = 0xFFFFFFF0000


def _valid_range(offset: int, length: int, write: bool = False) -> bool:
    end = offset + length
    if end > _MAX_OFFSET:
        return False
    return not (write and length > 0 and end > _MAX_FILE_SIZE)


def write_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    cfg = smbServer.fake_config
    body = recvPacket["Data"]
    _, data_offset, length, offset, raw_fid = _WRITE_REQ.unpack_from(body, 0)
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
    if entry is None:
        return error(STATUS_INVALID_HANDLE)
    start = data_offset - 64
    data = memoryview(body)[start : start + length]
    if len(data) != length:
        return error(STATUS_INVALID_PARAMETER)
    if not may_write(entry, stat_mod.S_ISDIR(os.fstat(entry["FileHandle"]).st_mode)):
        return error(STATUS_ACCESS_DENIED)
    if not _valid_range(offset, length, write=True):
        return error(STATUS_INVALID_PARAMETER)
    if locks.io_blocked(smbServer.lock_table, entry, offset, length, write=True):
        return error(STATUS_FILE_LOCK_CONFLICT)
    fd = entry["FileHandle"]

    faults = cfg.faults
    if faults.write_delay > 0:
        cfg.stopping.wait(faults.write_delay)  # wakes at once on stop()
    size = os.fstat(fd).st_size
    root = share_root(conn_data, recvPacket["TreeID"]) or ""
    if length and quota.would_exceed(root, cfg.quota_bytes, offset + length - size):
        return error(STATUS_DISK_FULL)
    if faults.drop_mid_write:
        os.pwrite(fd, data[: length // 2], offset)
        raise DropConnection("fault: connection dropped in the middle of a write")
    oplock_wire.written(smbServer, entry)  # read caches of the file are stale
    try:
        written = os.pwrite(fd, data, offset)  # past EOF leaves a zero-filled gap
    except IsADirectoryError:
        return error(STATUS_INVALID_DEVICE_REQUEST)
    except OSError as exc:
        smbServer.log(f"write to {entry['FileName']} failed: {exc}")
        full = exc.errno in (errno.ENOSPC, errno.EFBIG)
        return error(STATUS_DISK_FULL if full else STATUS_INVALID_DEVICE_REQUEST)
    # SMB2 WRITE response: StructureSize 17, Reserved, Count, Remaining, channel info.
    return [RawBody(struct.pack("<HHIIHH", 17, 0, written, 0, 0, 0))], None, STATUS_SUCCESS


def read_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    _, _, _, length, offset, raw_fid, minimum = _READ_REQ.unpack_from(recvPacket["Data"], 0)
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
    if entry is None:
        return error(STATUS_INVALID_HANDLE)
    if not may_read(entry):
        # A directory is refused as such first, whatever its access (as Samba).
        directory = stat_mod.S_ISDIR(os.fstat(entry["FileHandle"]).st_mode)
        return error(STATUS_INVALID_DEVICE_REQUEST if directory else STATUS_ACCESS_DENIED)
    if not _valid_range(offset, length):
        return error(STATUS_INVALID_PARAMETER)
    if locks.io_blocked(smbServer.lock_table, entry, offset, length, write=False):
        return error(STATUS_FILE_LOCK_CONFLICT)
    try:
        data = os.pread(entry["FileHandle"], length, offset)
    except IsADirectoryError:
        return error(STATUS_INVALID_DEVICE_REQUEST)
    # Nothing at or past end of file is END_OF_FILE, unless nothing was asked for:
    # a zero-length READ succeeds with no data, as Samba answers (smbtorture smb2.read.eof).
    # Fewer bytes than MinimumCount is END_OF_FILE too (MS-SMB2 3.3.5.12).
    if (not data and length > 0) or len(data) < minimum:
        return error(STATUS_END_OF_FILE)
    entry["Position"] = offset + len(data)  # as Samba's read_file does; see info_classes.position
    # SMB2 READ response (2.2.20): data right after the 16-byte body, offset 0x50.
    head = struct.pack("<HBBIII", 17, 0x50, 0, len(data), 0, 0)
    return [RawBody(head + data)], None, STATUS_SUCCESS
