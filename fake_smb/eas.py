"""Extended attributes: FileFullEaInformation (MS-FSCC 2.4.15) read and set, FileEaInformation,
and the SMB2_CREATE_EA_BUFFER create context (MS-SMB2 2.2.13.2.1).

A file's EAs are its ``user.`` extended attributes, ``user.NAME`` for the EA NAME, as Samba
keeps them, so a share folder reads the same through either server.  Names under
``user.fake_smb.`` (where security.py keeps descriptors) and Samba's own are private: never
listed, and setting one is ACCESS_DENIED.

What Samba answers, and so fake_smb: reading needs FILE_READ_EA and setting FILE_WRITE_EA
(else ACCESS_DENIED); a file without EAs is NO_EAS_ON_FILE; the whole list is answered
whatever the query's EA name list or flags ask, entries 4-byte aligned, flags 0.  An EA
name is matched without regard to case (a set keeps the name it already has); an empty
value removes the EA.  A name with a control character or one of ``"*+,/:;<=>?[\\]|`` is
INVALID_EA_NAME (before anything is set); a list that does not parse, or a SET_INFO
buffer under 10 bytes, INVALID_PARAMETER.  A CREATE's EA buffer is checked the same way
before the CREATE does anything, and set only on a file the CREATE created or
overwrote; without FILE_WRITE_EA that CREATE is ACCESS_DENIED, the new file left behind
(as Samba leaves it).
"""

from __future__ import annotations

import errno
import os
import struct

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_DISK_FULL,
    STATUS_EAS_NOT_SUPPORTED,
    STATUS_INVALID_EA_NAME,
    STATUS_INVALID_PARAMETER,
    STATUS_NO_EAS_ON_FILE,
    STATUS_SUCCESS,
)

FILE_WRITE_EA = 0x00000010
EA_BUFFER_CONTEXT = b"ExtA"  # SMB2_CREATE_EA_BUFFER

_USER = "user."
PRIVATE_PREFIX = "user.fake_smb."
# Samba's own attributes in the user namespace (samba_private_attr_name), hidden likewise.
_SAMBA_PRIVATE = ("user.dosattrib", "user.samba_pai", "user.samba_streams")
_SAMBA_PRIVATE_PREFIX = "user.dosstream."
_BAD_NAME_CHARS = frozenset('"*+,/:;<=>?[\\]|')
_MAX_VALUE = 65536
_ENTRY = struct.Struct("<IBBH")  # NextEntryOffset Flags EaNameLength EaValueLength

Ea = tuple[str, bytes]


class MalformedEaList(ValueError):
    """An EA list whose entries do not lie within its buffer."""


def _private(xattr_name: str) -> bool:
    low = xattr_name.lower()
    return low.startswith((PRIVATE_PREFIX, _SAMBA_PRIVATE_PREFIX)) or low in _SAMBA_PRIVATE


def invalid_name(name: str) -> bool:
    """Whether Windows refuses ``name`` as an EA name (Samba's list, probed from Windows)."""
    return not name or any(ord(c) < 0x20 or c in _BAD_NAME_CHARS for c in name)


def parse_list(buf: bytes) -> list[Ea]:
    """A FILE_FULL_EA_INFORMATION chain as (name, value) pairs, or MalformedEaList.
    Read as Samba reads it: a NextEntryOffset of 0 ends it, each name NUL-terminated."""
    if len(buf) < 4:
        raise MalformedEaList(f"an EA list needs 4 bytes, got {len(buf)}")
    out, offset = [], 0
    while offset + 4 <= len(buf):
        if offset + _ENTRY.size > len(buf):
            raise MalformedEaList(f"EA entry at {offset} runs past the buffer ({len(buf)} bytes)")
        following, _flags, name_len, value_len = _ENTRY.unpack_from(buf, offset)
        name_at = offset + _ENTRY.size
        end = name_at + name_len + 1 + value_len
        if end > len(buf) or buf[name_at + name_len] != 0:
            raise MalformedEaList(f"EA entry at {offset} runs past the buffer ({len(buf)} bytes)")
        out.append((bytes(buf[name_at : name_at + name_len]).decode("latin-1"),
                    bytes(buf[name_at + name_len + 1 : end])))
        if following == 0:
            break
        offset += following
    return out


def pack_list(eas: list[Ea]) -> bytes:
    """FILE_FULL_EA_INFORMATION entries, each but the last padded to 4 bytes, flags 0."""
    out = b""
    for i, (name, value) in enumerate(eas):
        raw = name.encode("latin-1")
        entry = raw + b"\x00" + value
        last = i == len(eas) - 1
        pad = 0 if last else -(_ENTRY.size + len(entry)) % 4
        following = 0 if last else _ENTRY.size + len(entry) + pad
        out += _ENTRY.pack(following, 0, len(raw), len(value)) + entry + b"\x00" * pad
    return out


def read(fd: int) -> list[Ea]:
    """The file's EAs, in the order its file system lists them."""
    try:
        names = os.listxattr(fd)
    except OSError:
        return []  # a file system without extended attributes has no EAs
    out = []
    for xattr in names:
        if not xattr.startswith(_USER) or _private(xattr):
            continue
        name = xattr[len(_USER):]
        try:
            value = os.getxattr(fd, xattr)
            name.encode("latin-1")
        except (OSError, UnicodeEncodeError):
            continue  # removed meanwhile, or a name no EA list can carry
        # A zero-length EA reads as corrupt on Windows, one past 64 KiB breaks clients: Samba skips both.
        if value and len(value) <= _MAX_VALUE and not invalid_name(name) and len(name) < 256:
            out.append((name, value))
    return out


def ea_size(fd: int) -> int:
    """FileEaInformation's EaSize: the length of the file's EA list, 0 without EAs."""
    return len(pack_list(read(fd)))


def query(fd: int) -> tuple[int, bytes]:
    """(status, FileFullEaInformation); the FILE_READ_EA it needs is checked with the other
    classes' needs (query_info.py)."""
    eas = read(fd)
    return (STATUS_SUCCESS, pack_list(eas)) if eas else (STATUS_NO_EAS_ON_FILE, b"")


def set_info(fd: int, granted: int, buf: bytes) -> int:
    """Carry out a SET_INFO FileFullEaInformation; its status."""
    if len(buf) < 10:
        return STATUS_INVALID_PARAMETER
    try:
        eas = parse_list(buf)
    except MalformedEaList:
        return STATUS_INVALID_PARAMETER
    return write(fd, granted, eas)


def write(fd: int, granted: int, eas: list[Ea]) -> int:
    """Set (or, with an empty value, remove) each EA on the file; the status."""
    if not granted & FILE_WRITE_EA:
        return STATUS_ACCESS_DENIED
    if any(invalid_name(name) for name, _value in eas):
        return STATUS_INVALID_EA_NAME
    if any(_private(_USER + name) for name, _value in eas):
        return STATUS_ACCESS_DENIED
    for name, value in eas:
        existing = {n.lower(): n for n, _v in read(fd)}
        xattr = _USER + existing.get(name.lower(), name)
        try:
            if value:
                os.setxattr(fd, xattr, value)
            else:
                os.removexattr(fd, xattr)
        except OSError as exc:
            if exc.errno == errno.ENODATA:
                continue  # removing an EA the file does not have succeeds
            return _status_for(exc)
    return STATUS_SUCCESS


def _status_for(exc: OSError) -> int:
    return {errno.ENOTSUP: STATUS_EAS_NOT_SUPPORTED, errno.ENOSPC: STATUS_DISK_FULL,
            errno.E2BIG: STATUS_DISK_FULL, errno.EINVAL: STATUS_INVALID_PARAMETER,
            errno.ERANGE: STATUS_INVALID_PARAMETER}.get(exc.errno, STATUS_ACCESS_DENIED)


# ---- the CREATE context ----

_CREATE_CONTEXTS_AT = 48  # CreateContextsOffset, CreateContextsLength in the CREATE body (2.2.13)
_CONTEXT = struct.Struct("<IHHHHI")  # Next NameOffset NameLength Reserved DataOffset DataLength


def _ea_context(body: bytes) -> bytes | None:
    """The data of the CREATE's SMB2_CREATE_EA_BUFFER context, None without one.  The
    context chain's own validity is CREATE's business; a chain that breaks ends the search."""
    if len(body) < _CREATE_CONTEXTS_AT + 8:
        return None
    offset, length = struct.unpack_from("<II", body, _CREATE_CONTEXTS_AT)
    if not offset or not length:
        return None
    start, end = offset - 64, offset - 64 + length  # offsets count from the SMB2 header
    pos = start
    while start <= pos and pos + _CONTEXT.size <= min(end, len(body)):
        following, name_at, name_len, _res, data_at, data_len = _CONTEXT.unpack_from(body, pos)
        if bytes(body[pos + name_at : pos + name_at + name_len]) == EA_BUFFER_CONTEXT:
            return bytes(body[pos + data_at : pos + data_at + data_len])
        if not following:
            return None
        pos += following
    return None


def from_create(body: bytes) -> tuple[int, list[Ea] | None]:
    """(status, EAs) of a CREATE request body: the EAs it asks the new file to have (None
    without an EA buffer), or the status refusing the CREATE before it does anything."""
    data = _ea_context(body)
    if data is None:
        return STATUS_SUCCESS, None
    try:
        eas = parse_list(data)
    except MalformedEaList:
        return STATUS_INVALID_PARAMETER, None
    if any(invalid_name(name) for name, _value in eas):
        return STATUS_INVALID_EA_NAME, None
    return STATUS_SUCCESS, eas
