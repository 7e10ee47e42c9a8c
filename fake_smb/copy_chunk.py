"""Server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY and FSCTL_SRV_COPYCHUNK(_WRITE)
(MS-SMB2 3.3.5.15.6, 3.3.5.15.7).

A client asks for the source open's resume key, then sends the destination an
IOCTL listing chunks (source offset, target offset, length) to copy from the
open that key names; the bytes never cross the wire.  Windows' copy dialogs and
smbclient.copyfile use it.  The checks and their order are Samba's
(smb2_ioctl_network_fs.c), which smbtorture smb2.ioctl holds servers to:

1. MaxOutputResponse below the 12-byte answer, or a request too short for its
   chunks: INVALID_PARAMETER;
2. a key no open of this session was given: OBJECT_NAME_NOT_FOUND;
3. destination without FILE_WRITE_DATA/FILE_APPEND_DATA, or (COPYCHUNK only, not
   COPYCHUNK_WRITE) without FILE_READ_DATA; source without FILE_READ_DATA or
   FILE_EXECUTE; either a directory: ACCESS_DENIED;
4. more than 256 chunks, a chunk of 0 bytes or over 1 MiB, over 16 MiB in all:
   INVALID_PARAMETER, answered with those limits (2.2.32.1);
5. then the chunks in order, each read whole before it is written (so a copy
   within one file whose ranges overlap reads the old bytes); a chunk reaching
   past the source's end is INVALID_VIEW_SIZE, one past the largest file offset
   INVALID_PARAMETER, one the quota cannot hold DISK_FULL, each answered with what
   the chunks before it wrote.

Byte-range locks are not consulted (smbtorture copy_chunk_src_lock, dest_lock).
"""

from __future__ import annotations

import os
import secrets
import stat as stat_mod
import struct

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_DISK_FULL,
    STATUS_FILE_LOCK_CONFLICT,
    STATUS_INVALID_PARAMETER,
    STATUS_INVALID_VIEW_SIZE,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_SUCCESS,
)

from ibs.fake_smb import locks, quota
from ibs.fake_smb.access import FILE_ALL_ACCESS, FILE_EXECUTE, FILE_READ_DATA, GRANTED_KEY
from ibs.fake_smb.fsctl_request import Fsctl
from ibs.fake_smb.handler_util import error, share_root

FSCTL_SRV_COPYCHUNK = 0x001440F2
FSCTL_SRV_COPYCHUNK_WRITE = 0x001480F2
FILE_WRITE_DATA = 0x00000002
FILE_APPEND_DATA = 0x00000004

# ServerSideCopyMaxNumberofChunks, ...MaxChunkSize, ...MaxDataSize (MS-SMB2 3.3.3), as Samba
MAX_CHUNKS = 256
MAX_CHUNK_SIZE = 1024 * 1024
MAX_TOTAL_SIZE = 16 * 1024 * 1024

RESUME_KEY = "ResumeKey"  # the open's key, made at the first request for it
_COPY_HEAD = struct.Struct("<24sI4x")  # SourceKey ChunkCount Reserved (2.2.31.1)
_CHUNK = struct.Struct("<QQI4x")  # SourceOffset TargetOffset Length Reserved (2.2.31.1.1)
_COPY_RESPONSE = struct.Struct("<III")  # ChunksWritten ChunkBytesWritten TotalBytesWritten
_MAX_OFFSET = (1 << 63) - 1


def _granted(entry: dict) -> int:
    return entry.get(GRANTED_KEY, FILE_ALL_ACCESS)


def _is_dir(entry: dict) -> bool:
    return stat_mod.S_ISDIR(os.fstat(entry["FileHandle"]).st_mode)


def resume_key(entry: dict) -> bytes:
    """The open's resume key: the same for every request on one open, unguessable."""
    key = entry.get(RESUME_KEY)
    if key is None:
        key = entry[RESUME_KEY] = secrets.token_bytes(24)
    return key


def _find_source(conn_data: dict, key: bytes) -> dict | None:
    # impacket keeps one session per connection: its opens are the session's.
    for entry in conn_data["OpenedFiles"].values():
        if entry.get(RESUME_KEY) == key:
            return entry
    return None


def parse_chunks(data: bytes) -> tuple[bytes, list[tuple[int, int, int]]] | None:
    """(source key, chunks) of an SRV_COPYCHUNK_COPY, or None if it is cut short."""
    if len(data) < _COPY_HEAD.size:
        return None
    key, count = _COPY_HEAD.unpack_from(data, 0)
    if len(data) < _COPY_HEAD.size + count * _CHUNK.size:
        return None
    return key, [_CHUNK.unpack_from(data, _COPY_HEAD.size + i * _CHUNK.size) for i in range(count)]


def within_limits(chunks: list[tuple[int, int, int]]) -> bool:
    lengths = [length for _, _, length in chunks]
    return (len(chunks) <= MAX_CHUNKS and all(0 < n <= MAX_CHUNK_SIZE for n in lengths)
            and sum(lengths) <= MAX_TOTAL_SIZE)


def _access_status(ctl_code: int, source: dict, dest: dict) -> int:
    if not _granted(dest) & (FILE_WRITE_DATA | FILE_APPEND_DATA):
        return STATUS_ACCESS_DENIED
    if ctl_code == FSCTL_SRV_COPYCHUNK and not _granted(dest) & FILE_READ_DATA:
        return STATUS_ACCESS_DENIED
    # The source may be read with FILE_EXECUTE too (Samba's CHECK_READ_SMB2); the destination
    # of COPYCHUNK only with FILE_READ_DATA (CHECK_READ_IOCTL).
    if not _granted(source) & (FILE_READ_DATA | FILE_EXECUTE) or _is_dir(source) or _is_dir(dest):
        return STATUS_ACCESS_DENIED
    return STATUS_SUCCESS


def copy(source_fd: int, dest_fd: int, chunks, root: str, quota_bytes: int | None,
         locked=lambda _source_offset, _target_offset, _length: False) -> tuple[int, int, int]:
    """Copy the chunks in order; (status, chunks written, bytes written), stopping at
    the first chunk that cannot be copied whole. ``locked(source_offset, target_offset,
    length)`` says whether another open's byte-range lock stands in a chunk's way."""
    done = total = 0
    for source_offset, target_offset, length in chunks:
        if max(source_offset, target_offset) + length > _MAX_OFFSET:
            return STATUS_INVALID_PARAMETER, done, total  # past any file offset (MS-FSA 2.1.5.3)
        if locked(source_offset, target_offset, length):
            return STATUS_FILE_LOCK_CONFLICT, done, total
        data = os.pread(source_fd, length, source_offset)
        if len(data) < length:
            return STATUS_INVALID_VIEW_SIZE, done, total
        growth = target_offset + length - os.fstat(dest_fd).st_size
        if quota.would_exceed(root, quota_bytes, growth):
            return STATUS_DISK_FULL, done, total
        try:
            os.pwrite(dest_fd, data, target_offset)
        except OSError:
            return STATUS_DISK_FULL, done, total
        done, total = done + 1, total + length
    return STATUS_SUCCESS, done, total


def copy_chunk(req: Fsctl):
    """FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE; req.entry is the destination."""
    if req.max_output < _COPY_RESPONSE.size:
        return error(STATUS_INVALID_PARAMETER)
    parsed = parse_chunks(req.input)
    if parsed is None:
        return error(STATUS_INVALID_PARAMETER)
    key, chunks = parsed
    source = _find_source(req.conn_data, key)
    if source is None:
        return error(STATUS_OBJECT_NAME_NOT_FOUND)
    status = _access_status(req.ctl_code, source, req.entry)
    if status != STATUS_SUCCESS:
        return error(status)
    if not within_limits(chunks):
        return req.answer(_COPY_RESPONSE.pack(MAX_CHUNKS, MAX_CHUNK_SIZE, MAX_TOTAL_SIZE),
                          STATUS_INVALID_PARAMETER)
    root = share_root(req.conn_data, req.tree_id) or ""
    table = req.server.lock_table

    def locked(source_offset: int, target_offset: int, length: int) -> bool:
        # A chunk reads its source and writes its destination as READ and WRITE would.
        return (locks.io_blocked(table, source, source_offset, length, write=False)
                or locks.io_blocked(table, req.entry, target_offset, length, write=True))

    status, done, total = copy(source["FileHandle"], req.entry["FileHandle"], chunks, root,
                               req.server.fake_config.quota_bytes, locked)
    return req.answer(_COPY_RESPONSE.pack(done, 0, total), status)


def request_resume_key(req: Fsctl):
    # SRV_REQUEST_RESUME_KEY response (2.2.32.3): ResumeKey, ContextLength 0, and the 4 bytes
    # of Context that Windows and Samba send anyway (smbtorture's parser expects 32 bytes).
    output = resume_key(req.entry) + struct.pack("<I4x", 0)
    if req.max_output < len(output):
        return error(STATUS_INVALID_PARAMETER)
    return req.answer(output)
