"""FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA and FSCTL_QUERY_ALLOCATED_RANGES (MS-FSCC 2.3.64,
2.3.67, 2.3.47; MS-FSA 2.1.5.10), answered as Samba answers them (smb2_ioctl_filesys.c,
vfs_default.c, dosmode.c), which smbtorture smb2.ioctl.sparse_* hold servers to.

Like Samba, fake_smb lets the file system hold the data: ZERO_DATA punches a hole
(fallocate PUNCH_HOLE | KEEP_SIZE), and the allocated ranges of a sparse file are those
SEEK_DATA and SEEK_HOLE find. So the granularity is the file system's (4 KiB blocks on
ext4: a punch deallocates only the whole blocks it covers, a write past a hole leaves the
hole), and fake_smb and Samba over the same file system give the same ranges. Where the file
system cannot punch holes, ZERO_DATA writes zeros instead (the data reads the same, nothing
is deallocated).

- SET_SPARSE needs FILE_WRITE_DATA, FILE_APPEND_DATA or FILE_WRITE_ATTRIBUTES (else
  ACCESS_DENIED); a directory is INVALID_PARAMETER. No buffer, or a first byte other than 0,
  sets the flag; a 0 clears it; bytes past the first are ignored.
- ZERO_DATA needs FILE_WRITE_DATA; a request under 16 bytes or whose end comes before its
  start is INVALID_PARAMETER, an empty range does nothing, another open's byte-range lock in
  the range is FILE_LOCK_CONFLICT; sparse or not, the range is punched and the size stays.
- QUERY_ALLOCATED_RANGES needs FILE_READ_DATA and ignores byte-range locks; a request under
  16 bytes, or a range reaching past 2^64, is INVALID_PARAMETER. An empty range, an empty
  file or a range from end of file on has no ranges; a file that is not sparse is allocated
  over the whole range up to end of file; an answer over MaxOutputResponse is
  BUFFER_TOO_SMALL.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat as stat_mod
import struct

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_BUFFER_TOO_SMALL,
    STATUS_DISK_FULL,
    STATUS_FILE_LOCK_CONFLICT,
    STATUS_INVALID_HANDLE,
    STATUS_INVALID_PARAMETER,
    STATUS_IO_DEVICE_ERROR,
    STATUS_MEDIA_WRITE_PROTECTED,
)

from ibs.fake_smb import locks, sparse
from ibs.fake_smb.access import FILE_ALL_ACCESS, FILE_READ_DATA, GRANTED_KEY
from ibs.fake_smb.fsctl_request import Fsctl
from ibs.fake_smb.handler_util import error

FSCTL_SET_SPARSE = 0x000900C4
FSCTL_SET_ZERO_DATA = 0x000980C8
FSCTL_QUERY_ALLOCATED_RANGES = 0x000940CF
FILE_WRITE_DATA = 0x00000002
FILE_APPEND_DATA = 0x00000004
FILE_WRITE_ATTRIBUTES = 0x00000100

_RANGE = struct.Struct("<QQ")  # FileOffset, Length (2.3.46); FileOffset, BeyondFinalZero (2.3.67)
_MAX_OFF_T = (1 << 63) - 1
_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_ZEROS = bytes(1 << 20)
# Samba's map_nt_error_from_unix_common for what fallocate can fail with; the rest is I/O.
_STATUS_OF_ERRNO = {
    errno.EINVAL: STATUS_INVALID_PARAMETER,
    errno.EFBIG: STATUS_DISK_FULL,
    errno.ENOSPC: STATUS_DISK_FULL,
    errno.EDQUOT: STATUS_DISK_FULL,
    errno.EBADF: STATUS_INVALID_HANDLE,  # a directory, or a descriptor opened read-only
    errno.EPERM: STATUS_ACCESS_DENIED,
    errno.EACCES: STATUS_ACCESS_DENIED,
    errno.EROFS: STATUS_MEDIA_WRITE_PROTECTED,
}


def _granted(req: Fsctl) -> int:
    return req.entry.get(GRANTED_KEY, FILE_ALL_ACCESS)


def _load_fallocate():
    try:
        fn = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    fn.restype = ctypes.c_int
    return fn


_fallocate = _load_fallocate()


def punch_hole(fd: int, offset: int, length: int) -> None:
    """Zero ``length`` bytes from ``offset`` without changing the file's size, deallocating
    the whole blocks among them; OSError as fallocate(2) fails."""
    if length == 0:
        return  # fallocate(2) calls it EINVAL
    if offset > _MAX_OFF_T or length > _MAX_OFF_T:
        raise OSError(errno.EINVAL, "offset or length past the largest file offset")
    if offset + length > _MAX_OFF_T:
        raise OSError(errno.EFBIG, "range ends past the largest file offset")
    if _fallocate is not None:
        if _fallocate(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, offset, length) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EOPNOTSUPP, errno.ENOSYS):
            raise OSError(code, os.strerror(code))
    end = min(offset + length, os.fstat(fd).st_size)  # zeros, but never past end of file
    while offset < end:
        offset += os.pwrite(fd, _ZEROS[: end - offset], offset)


def allocated_ranges(fd: int, first: int, last: int) -> list[tuple[int, int]]:
    """(offset, length) of each run of data between the offsets ``first`` and ``last``
    (included), as SEEK_DATA and SEEK_HOLE find them (Samba's fsctl_qar_seek_fill)."""
    if not hasattr(os, "SEEK_DATA"):
        return [(first, last - first + 1)]
    ranges = []
    offset = first
    while offset <= last:
        try:
            data = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no data from here to end of file
                break
            raise
        if data > last:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        ranges.append((data, min(hole, last + 1) - data))
        offset = hole
    return ranges


def set_sparse(req: Fsctl):
    # Windows Server 2008 and 2012 let any of the three do it, and Samba follows them.
    if not _granted(req) & (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES):
        return error(STATUS_ACCESS_DENIED)
    st = os.fstat(req.entry["FileHandle"])
    if stat_mod.S_ISDIR(st.st_mode):
        return error(STATUS_INVALID_PARAMETER)
    # FILE_SET_SPARSE_BUFFER is optional: without one the flag is set (MS-FSCC 2.3.64).
    sparse.mark(st, req.input[:1] != b"\x00")
    return req.answer(b"")


def zero_data(req: Fsctl):
    if not _granted(req) & FILE_WRITE_DATA:
        return error(STATUS_ACCESS_DENIED)
    if len(req.input) < _RANGE.size:
        return error(STATUS_INVALID_PARAMETER)
    offset, beyond_final_zero = _RANGE.unpack_from(req.input, 0)
    if beyond_final_zero < offset:
        return error(STATUS_INVALID_PARAMETER)
    length = beyond_final_zero - offset
    if length == 0:
        return req.answer(b"")
    if locks.io_blocked(req.server.lock_table, req.entry, offset, length, write=True):
        return error(STATUS_FILE_LOCK_CONFLICT)
    try:
        punch_hole(req.entry["FileHandle"], offset, length)
    except OSError as exc:
        return error(_STATUS_OF_ERRNO.get(exc.errno, STATUS_IO_DEVICE_ERROR))
    return req.answer(b"")


def query_allocated_ranges(req: Fsctl):
    if not _granted(req) & FILE_READ_DATA:
        return error(STATUS_ACCESS_DENIED)
    if len(req.input) < _RANGE.size:
        return error(STATUS_INVALID_PARAMETER)
    offset, length = _RANGE.unpack_from(req.input, 0)
    fd = req.entry["FileHandle"]
    st = os.fstat(fd)
    size = 0 if stat_mod.S_ISDIR(st.st_mode) else st.st_size  # a directory has no data ranges
    if length == 0 or offset >= size:
        return req.answer(b"")
    if offset + length > 0xFFFFFFFFFFFFFFFF:
        return error(STATUS_INVALID_PARAMETER)
    last = min(size, offset + length) - 1
    if sparse.is_sparse(st):
        ranges = allocated_ranges(fd, offset, last)
    else:
        ranges = [(offset, last - offset + 1)]  # all of it, whatever the file system holds
    output = b"".join(_RANGE.pack(*r) for r in ranges)
    if len(output) > req.max_output:
        return error(STATUS_BUFFER_TOO_SMALL)
    return req.answer(output)
