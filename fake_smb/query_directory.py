"""SMB2 QUERY_DIRECTORY (MS-SMB2 3.3.5.18) over a local directory.

impacket's handler re-lists and stats the whole folder on every request and
then skips to where the last one stopped, so listing n files one at a time
costs n^2 stat calls (smbtorture smb2.dir.many timed out); its resume position
is an index into a fresh listing, so a file created or deleted in between
shifts it (a file listed twice, smb2.dir.fixed); and it truncates timestamps to
whole seconds, unlike CREATE and QUERY_INFO (smb2.dir.find).

Here each open keeps a cursor: the matching names, sorted, taken once at the
first QUERY_DIRECTORY (again on RESTART_SCANS or REOPEN), and a position in
them.  Each entry is stat'ed only when it is packed, so a file deleted since
the snapshot is left out, and its times and sizes come from the one function
CREATE, CLOSE and QUERY_INFO use (handler_util.times_and_sizes).  The status
codes follow Samba's smbd: NO_SUCH_FILE when the first search of an open finds
nothing, NO_MORE_FILES once a search is exhausted, INFO_LENGTH_MISMATCH when
not even one entry fits the client's buffer.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct
from dataclasses import dataclass

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_FILE_CLOSED,
    STATUS_INFO_LENGTH_MISMATCH,
    STATUS_INVALID_INFO_CLASS,
    STATUS_INVALID_PARAMETER,
    STATUS_NETWORK_NAME_DELETED,
    STATUS_NO_MORE_FILES,
    STATUS_NO_SUCH_FILE,
    STATUS_OBJECT_NAME_INVALID,
    STATUS_SUCCESS,
)

from ibs.fake_smb.access import FILE_ALL_ACCESS, GRANTED_KEY
from ibs.fake_smb.dialects import SMB_2_1
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid, share_root, times_and_sizes
from ibs.fake_smb.negotiate import MAX_IO, MAX_IO_2_0_2
from ibs.fake_smb.query_info import short_name
from ibs.fake_smb.state import get_state
from ibs.fake_smb.wildcards import matches

# FileInformationClass values a directory can be listed in (MS-FSCC 2.4)
FILE_DIRECTORY_INFORMATION = 1
FILE_FULL_DIRECTORY_INFORMATION = 2
FILE_BOTH_DIRECTORY_INFORMATION = 3
FILE_NAMES_INFORMATION = 12
FILE_ID_BOTH_DIRECTORY_INFORMATION = 37
FILE_ID_FULL_DIRECTORY_INFORMATION = 38
INFO_CLASSES = (
    FILE_DIRECTORY_INFORMATION, FILE_FULL_DIRECTORY_INFORMATION, FILE_BOTH_DIRECTORY_INFORMATION,
    FILE_NAMES_INFORMATION, FILE_ID_BOTH_DIRECTORY_INFORMATION, FILE_ID_FULL_DIRECTORY_INFORMATION,
)
# Flags (MS-SMB2 2.2.33)
SMB2_RESTART_SCANS = 0x01
SMB2_RETURN_SINGLE_ENTRY = 0x02
SMB2_INDEX_SPECIFIED = 0x04
SMB2_REOPEN = 0x10
FILE_LIST_DIRECTORY = 0x00000001

CURSOR_KEY = "DirectoryCursor"
_REQUEST = struct.Struct("<HBBI16sHHI")  # StructureSize .. OutputBufferLength (2.2.33)
_HEADER_SIZE = 64
# NextEntryOffset FileIndex Creation/LastAccess/LastWrite/ChangeTime EndOfFile
# AllocationSize FileAttributes FileNameLength: the part the directory classes share.
_COMMON = struct.Struct("<IIQQQQQQII")


@dataclass
class Cursor:
    """Open.EnumerationSearchPattern and Open.EnumerationLocation, with the names
    the location indexes (MS-SMB2 3.3.1.10)."""

    pattern: str
    names: list[str]
    position: int = 0


def snapshot(dir_fd: int, pattern: str) -> list[str]:
    """The names in the directory that match pattern: "." and ".." first, then the
    rest sorted without regard to case (the order NTFS lists in)."""
    names = sorted(os.listdir(dir_fd), key=lambda n: (n.upper(), n))
    return [n for n in [".", "..", *names] if matches(pattern, n)]


def _stat(dir_fd: int, name: str, at_root: bool) -> os.stat_result | None:
    """The entry's stat now, or None if it has gone since the snapshot."""
    if name == "." or (name == ".." and at_root):
        return os.fstat(dir_fd)  # the share's root has no parent on the share
    try:
        return os.stat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError:
        try:  # a dangling symlink: describe the link itself
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None


def pack_entry(info_class: int, index: int, name: str, st: os.stat_result) -> bytes:
    """One entry of a directory information class (MS-FSCC 2.4.8, 2.4.14, 2.4.17,
    2.4.18, 2.4.19, 2.4.28), NextEntryOffset still 0."""
    name16 = name.encode("utf-16le")
    if info_class == FILE_NAMES_INFORMATION:
        return struct.pack("<III", 0, index, len(name16)) + name16
    t = times_and_sizes(st)
    head = _COMMON.pack(0, index, t["CreationTime"], t["LastAccessTime"], t["LastWriteTime"],
                        t["ChangeTime"], t["EndOfFile"], t["AllocationSize"], t["FileAttributes"],
                        len(name16))
    if info_class == FILE_DIRECTORY_INFORMATION:
        return head + name16
    ea_size = struct.pack("<I", 0)
    if info_class == FILE_FULL_DIRECTORY_INFORMATION:
        return head + ea_size + name16
    if info_class == FILE_ID_FULL_DIRECTORY_INFORMATION:
        return head + ea_size + struct.pack("<IQ", 0, st.st_ino) + name16
    short = b"" if name in (".", "..") else short_name(name).encode("utf-16le")[:24]
    both = head + ea_size + struct.pack("<BB", len(short), 0) + short.ljust(24, b"\x00")
    if info_class == FILE_BOTH_DIRECTORY_INFORMATION:
        return both + name16
    return both + struct.pack("<HQ", 0, st.st_ino) + name16  # FileIdBothDirectoryInformation


def fill(cursor: Cursor, dir_fd: int, at_root: bool, info_class: int, limit: int,
         single: bool) -> bytes:
    """Pack entries from the cursor's position into at most limit bytes, each at an
    8-byte boundary (MS-SMB2 3.3.5.18), and move the cursor past them."""
    out = bytearray()
    last = -1
    while cursor.position < len(cursor.names):
        name = cursor.names[cursor.position]
        st = _stat(dir_fd, name, at_root)
        try:
            data = None if st is None else pack_entry(info_class, cursor.position + 1, name, st)
        except UnicodeEncodeError:
            data = None  # a local name no UTF-16 spells: not listable, as in Samba
        if data is None:
            cursor.position += 1
            continue
        start = len(out) + (-len(out)) % 8
        if start + len(data) > limit:
            break
        if last >= 0:
            struct.pack_into("<I", out, last, start - last)
        out += bytes(start - len(out)) + data
        last = start
        cursor.position += 1
        if single:
            break
    return bytes(out)


def _max_output(conn_data: dict) -> int:
    return MAX_IO if get_state(conn_data).dialect >= SMB_2_1 else MAX_IO_2_0_2


def query_directory_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    tree_id = recvPacket["TreeID"]
    if tree_id not in conn_data["ConnectedShares"]:
        return error(STATUS_NETWORK_NAME_DELETED)
    body = bytes(recvPacket["Data"])
    if len(body) < _REQUEST.size:
        return error(STATUS_INVALID_PARAMETER)
    (_, info_class, flags, file_index, raw_fid, name_offset, name_length,
     output_length) = _REQUEST.unpack_from(body, 0)
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
    if entry is None:
        return error(STATUS_FILE_CLOSED)
    fd = entry["FileHandle"]
    if not stat_mod.S_ISDIR(os.fstat(fd).st_mode):
        return error(STATUS_INVALID_PARAMETER)
    if not entry.get(GRANTED_KEY, FILE_ALL_ACCESS) & FILE_LIST_DIRECTORY:
        return error(STATUS_ACCESS_DENIED)
    if info_class not in INFO_CLASSES:
        return error(STATUS_INVALID_INFO_CLASS)
    if output_length > _max_output(conn_data):
        return error(STATUS_INVALID_PARAMETER)
    start = name_offset - _HEADER_SIZE
    try:
        pattern = body[start : start + name_length].decode("utf-16le") if name_length else ""
    except UnicodeDecodeError:
        return error(STATUS_OBJECT_NAME_INVALID)
    if "\\" in pattern or "/" in pattern or "\x00" in pattern:
        return error(STATUS_OBJECT_NAME_INVALID)  # a name inside this directory, not a path

    cursor: Cursor | None = None if flags & SMB2_REOPEN else entry.get(CURSOR_KEY)
    first = cursor is None
    if cursor is None:
        # An empty pattern lists everything, as Windows does (MS-SMB2 <327>).
        cursor = entry[CURSOR_KEY] = Cursor(pattern or "*", snapshot(fd, pattern or "*"))
    elif flags & SMB2_RESTART_SCANS:
        # The pattern stays the open's first until REOPEN, as in Samba; the names are
        # taken afresh, so what was created or deleted meanwhile shows.
        cursor.names, cursor.position = snapshot(fd, cursor.pattern), 0
    elif flags & SMB2_INDEX_SPECIFIED and 0 < file_index <= len(cursor.names):
        cursor.position = file_index  # resume after the entry that FileIndex numbered

    at_root = os.path.realpath(entry["FileName"]) == os.path.realpath(share_root(conn_data, tree_id) or "")
    data = fill(cursor, fd, at_root, info_class, output_length, bool(flags & SMB2_RETURN_SINGLE_ENTRY))
    if not data:
        if cursor.position < len(cursor.names):
            return error(STATUS_INFO_LENGTH_MISMATCH)  # not even the next entry fits
        return error(STATUS_NO_SUCH_FILE if first else STATUS_NO_MORE_FILES)
    # QUERY_DIRECTORY response (2.2.34): StructureSize 9, OutputBufferOffset 0x48.
    return [RawBody(struct.pack("<HHI", 9, 0x48, len(data)) + data)], None, STATUS_SUCCESS
