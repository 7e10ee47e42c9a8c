"""Security descriptors: QUERY_INFO and SET_INFO with InfoType SMB2_0_INFO_SECURITY
(MS-SMB2 3.3.5.20.3, 3.3.5.21.3; the self-relative form of MS-DTYP 2.4.6).

Each file keeps the descriptor last set on it, whole and self-relative, in a private
extended attribute (so it follows renames and hard links and goes with the file); a
file never set answers a default made from its Unix owner as Samba names Unix ids
(S-1-22-1-uid, S-1-22-2-gid): owner and group, and a DACL granting the owner
everything and the group and Everyone read and execute.

What Samba answers, and so fake_smb: AdditionalInformation picks the parts (owner,
group, DACL, SACL); the owner, group or DACL need READ_CONTROL on the open to be read
and WRITE_OWNER (owner, group) or WRITE_DAC (DACL) to be set; the SACL needs
ACCESS_SYSTEM_SECURITY both ways, and WRITE_DAC to be set.  A descriptor longer than
OutputBufferLength is BUFFER_TOO_SMALL, its length the 4 bytes of error data.  An
empty SET_INFO buffer is INVALID_PARAMETER; one whose parts run out of it is
BUFFER_TOO_SMALL.  A new owner must be the file's present owner or the server's own
user (Windows' rule without SeRestorePrivilege): else INVALID_OWNER.  Generic rights
in a DACL or SACL set are mapped to file rights, as Samba maps them.

Nothing here decides whether a CREATE may open a file: the DACL is kept and answered,
not enforced (Samba in the conformance harness serves as root, which no DACL refuses).
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass, replace

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_BUFFER_TOO_SMALL,
    STATUS_DISK_FULL,
    STATUS_INVALID_OWNER,
    STATUS_INVALID_PARAMETER,
    STATUS_NOT_SUPPORTED,
    STATUS_SUCCESS,
)

from ibs.fake_smb.access import FILE_ALL_ACCESS, GRANTED_KEY
from ibs.fake_smb.handler_util import RawBody

SMB2_0_INFO_SECURITY = 0x03
# AdditionalInformation (MS-SMB2 2.2.37, MS-DTYP 2.4.7)
OWNER_SECURITY_INFORMATION = 0x1
GROUP_SECURITY_INFORMATION = 0x2
DACL_SECURITY_INFORMATION = 0x4
SACL_SECURITY_INFORMATION = 0x8
_PARTS = (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
          | SACL_SECURITY_INFORMATION)
# Control (MS-DTYP 2.4.6)
SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_SACL_AUTO_INHERIT_REQ = 0x0200
SE_DACL_AUTO_INHERITED = 0x0400
SE_SACL_AUTO_INHERITED = 0x0800
SE_DACL_PROTECTED = 0x1000
SE_SACL_PROTECTED = 0x2000
SE_SELF_RELATIVE = 0x8000
SE_DACL_DEFAULTED = 0x0008
SE_SACL_DEFAULTED = 0x0020
_DACL_BITS = SE_DACL_PRESENT | SE_DACL_DEFAULTED | SE_DACL_AUTO_INHERIT_REQ | SE_DACL_AUTO_INHERITED | SE_DACL_PROTECTED
_SACL_BITS = SE_SACL_PRESENT | SE_SACL_DEFAULTED | SE_SACL_AUTO_INHERIT_REQ | SE_SACL_AUTO_INHERITED | SE_SACL_PROTECTED
# Access rights (MS-DTYP 2.4.3)
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000
ACCESS_SYSTEM_SECURITY = 0x01000000
FILE_READ_AND_EXECUTE = 0x001200A9  # FILE_GENERIC_READ | FILE_GENERIC_EXECUTE
ACCESS_ALLOWED_ACE_TYPE = 0x00
_GENERIC_BITS = 0xF0000000
_GENERIC_MAPPING = (
    (0x80000000, 0x00120089),  # GENERIC_READ: FILE_GENERIC_READ
    (0x40000000, 0x00120116),  # GENERIC_WRITE: FILE_GENERIC_WRITE
    (0x20000000, 0x001200A0),  # GENERIC_EXECUTE: FILE_GENERIC_EXECUTE
    (0x10000000, FILE_ALL_ACCESS),  # GENERIC_ALL
)

#: The extended attribute holding a file's descriptor; eas.py keeps this prefix private.
XATTR_NAME = "user.fake_smb.sd"

_HEADER = struct.Struct("<BBHIIII")  # Revision Sbz1 Control OffsetOwner OffsetGroup OffsetSacl OffsetDacl
_ACL_HEADER = struct.Struct("<BBHHH")  # AclRevision Sbz1 AclSize AceCount Sbz2
_ACE_HEADER = struct.Struct("<BBHI")  # AceType AceFlags AceSize Mask
_ACL_REVISION = 2


class MalformedDescriptor(ValueError):
    """A descriptor, SID or ACL whose parts do not lie within its buffer."""


# ---- SIDs (MS-DTYP 2.4.2.2) ----

def sid_from_string(text: str) -> bytes:
    """``S-1-5-32-544`` as its binary form."""
    parts = text.split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise ValueError(f"not a SID string: {text!r}")
    subs = [int(p) for p in parts[3:]]
    return (struct.pack("<BB", int(parts[1]), len(subs)) + int(parts[2]).to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def sid_to_string(sid: bytes) -> str:
    count = sid[1]
    subs = struct.unpack_from(f"<{count}I", sid, 8)
    return "-".join(["S", str(sid[0]), str(int.from_bytes(sid[2:8], "big")), *map(str, subs)])


def _sid_at(buf: bytes, offset: int) -> bytes:
    if offset + 8 > len(buf):
        raise MalformedDescriptor(f"SID at {offset} runs past the buffer ({len(buf)} bytes)")
    size = 8 + 4 * buf[offset + 1]
    if buf[offset + 1] > 15 or offset + size > len(buf):
        raise MalformedDescriptor(f"SID at {offset} runs past the buffer ({len(buf)} bytes)")
    return bytes(buf[offset : offset + size])


# ---- ACLs (MS-DTYP 2.4.5) ----

def _acl_at(buf: bytes, offset: int) -> bytes:
    if offset + _ACL_HEADER.size > len(buf):
        raise MalformedDescriptor(f"ACL at {offset} runs past the buffer ({len(buf)} bytes)")
    _rev, _sbz1, size, count, _sbz2 = _ACL_HEADER.unpack_from(buf, offset)
    if size < _ACL_HEADER.size or offset + size > len(buf):
        raise MalformedDescriptor(f"ACL at {offset} of {size} bytes runs past the buffer")
    acl = bytes(buf[offset : offset + size])
    pos = _ACL_HEADER.size
    for _ in range(count):
        if pos + _ACE_HEADER.size > size:
            raise MalformedDescriptor(f"ACE at {pos} runs past its ACL ({size} bytes)")
        ace_size = _ACE_HEADER.unpack_from(acl, pos)[2]
        if ace_size < _ACE_HEADER.size or pos + ace_size > size:
            raise MalformedDescriptor(f"ACE at {pos} runs past its ACL ({size} bytes)")
        pos += ace_size
    return acl


def aces(acl: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, mask, rest) of each ACE: rest is the SID for the basic types."""
    count = _ACL_HEADER.unpack_from(acl, 0)[3]
    out, pos = [], _ACL_HEADER.size
    for _ in range(count):
        ace_type, flags, size, mask = _ACE_HEADER.unpack_from(acl, pos)
        out.append((ace_type, flags, mask, acl[pos + _ACE_HEADER.size : pos + size]))
        pos += size
    return out


def make_acl(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    body = b"".join(_ACE_HEADER.pack(t, f, _ACE_HEADER.size + len(rest), m) + rest
                    for t, f, m, rest in entries)
    return _ACL_HEADER.pack(_ACL_REVISION, 0, _ACL_HEADER.size + len(body), len(entries), 0) + body


def _map_generic(acl: bytes) -> bytes:
    """The ACL with each ACE's generic rights as the file rights they stand for (MS-DTYP
    2.4.3; MS-SMB2 3.3.5.9's file mapping), as Samba stores a DACL or SACL it is given."""
    out = bytearray(acl)
    pos = _ACL_HEADER.size
    for _ in range(_ACL_HEADER.unpack_from(acl, 0)[3]):
        size, mask = struct.unpack_from("<HI", acl, pos + 2)
        mapped = mask & ~_GENERIC_BITS
        for generic, rights in _GENERIC_MAPPING:
            if mask & generic:
                mapped |= rights
        struct.pack_into("<I", out, pos + 4, mapped)
        pos += size
    return bytes(out)


# ---- descriptors ----

@dataclass(frozen=True)
class SecurityDescriptor:
    """A descriptor's parts: SIDs and ACLs kept as their bytes, None when absent."""

    control: int = SE_SELF_RELATIVE
    owner: bytes | None = None
    group: bytes | None = None
    sacl: bytes | None = None
    dacl: bytes | None = None


def parse(buf: bytes) -> SecurityDescriptor:
    """A self-relative descriptor, or MalformedDescriptor."""
    if len(buf) < _HEADER.size:
        raise MalformedDescriptor(f"a descriptor needs {_HEADER.size} bytes, got {len(buf)}")
    _rev, _sbz1, control, o_owner, o_group, o_sacl, o_dacl = _HEADER.unpack_from(buf, 0)
    return SecurityDescriptor(
        control=control | SE_SELF_RELATIVE,
        owner=_sid_at(buf, o_owner) if o_owner else None,
        group=_sid_at(buf, o_group) if o_group else None,
        sacl=_acl_at(buf, o_sacl) if o_sacl else None,
        dacl=_acl_at(buf, o_dacl) if o_dacl else None,
    )


def pack(sd: SecurityDescriptor) -> bytes:
    """Self-relative, its parts in Samba's order: owner, group, SACL, DACL."""
    offsets, body = [], b""
    for part in (sd.owner, sd.group, sd.sacl, sd.dacl):
        offsets.append(_HEADER.size + len(body) if part is not None else 0)
        body += part or b""
    return _HEADER.pack(1, 0, sd.control | SE_SELF_RELATIVE, *offsets) + body


def default(st: os.stat_result) -> SecurityDescriptor:
    """The descriptor of a file never given one: its Unix owner and group, and a DACL
    granting the owner everything, the group and Everyone read and execute."""
    owner, group = unix_user_sid(st.st_uid), sid_from_string(f"S-1-22-2-{st.st_gid}")
    everyone = sid_from_string("S-1-1-0")
    dacl = make_acl([(ACCESS_ALLOWED_ACE_TYPE, 0, FILE_ALL_ACCESS, owner),
                     (ACCESS_ALLOWED_ACE_TYPE, 0, FILE_READ_AND_EXECUTE, group),
                     (ACCESS_ALLOWED_ACE_TYPE, 0, FILE_READ_AND_EXECUTE, everyone)])
    return SecurityDescriptor(SE_SELF_RELATIVE | SE_DACL_PRESENT, owner, group, None, dacl)


def unix_user_sid(uid: int) -> bytes:
    return sid_from_string(f"S-1-22-1-{uid}")


def select(sd: SecurityDescriptor, wanted: int) -> SecurityDescriptor:
    """The parts AdditionalInformation asks for.  A DACL or SACL asked for but absent is
    answered present and null, as Windows and Samba answer; a label alone (or nothing)
    is an empty descriptor."""
    if not wanted & _PARTS:
        return SecurityDescriptor()
    control = sd.control & ~(SE_DACL_PRESENT | SE_SACL_PRESENT)
    if wanted & DACL_SECURITY_INFORMATION:
        control |= SE_DACL_PRESENT
    if wanted & SACL_SECURITY_INFORMATION:
        control |= SE_SACL_PRESENT
    return SecurityDescriptor(
        control,
        sd.owner if wanted & OWNER_SECURITY_INFORMATION else None,
        sd.group if wanted & GROUP_SECURITY_INFORMATION else None,
        sd.sacl if wanted & SACL_SECURITY_INFORMATION else None,
        sd.dacl if wanted & DACL_SECURITY_INFORMATION else None,
    )


def merge(old: SecurityDescriptor, new: SecurityDescriptor, sent: int) -> SecurityDescriptor:
    """``old`` with the parts ``sent`` names taken from ``new`` (ACL control bits with
    their ACL), generic rights mapped."""
    sd = old
    if sent & OWNER_SECURITY_INFORMATION:
        sd = replace(sd, owner=new.owner)
    if sent & GROUP_SECURITY_INFORMATION:
        sd = replace(sd, group=new.group)
    if sent & DACL_SECURITY_INFORMATION:
        # SE_DACL_PRESENT clear means no DACL, whatever the offset says (MS-DTYP 2.4.6).
        dacl = _map_generic(new.dacl) if new.dacl is not None and new.control & SE_DACL_PRESENT else None
        sd = replace(sd, dacl=dacl, control=(sd.control & ~_DACL_BITS) | (new.control & _DACL_BITS))
    if sent & SACL_SECURITY_INFORMATION:
        sacl = _map_generic(new.sacl) if new.sacl is not None and new.control & SE_SACL_PRESENT else None
        sd = replace(sd, sacl=sacl, control=(sd.control & ~_SACL_BITS) | (new.control & _SACL_BITS))
    return sd


# ---- access (Samba's smbd_fetch_security_desc and set_sd) ----

def query_access_status(granted: int, wanted: int) -> int:
    if wanted & SACL_SECURITY_INFORMATION and not granted & ACCESS_SYSTEM_SECURITY:
        return STATUS_ACCESS_DENIED
    if wanted & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION) \
            and not granted & READ_CONTROL:
        return STATUS_ACCESS_DENIED
    return STATUS_SUCCESS


def set_access_status(granted: int, sent: int) -> int:
    if sent & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION) and not granted & WRITE_OWNER:
        return STATUS_ACCESS_DENIED
    if sent & DACL_SECURITY_INFORMATION and not granted & WRITE_DAC:
        return STATUS_ACCESS_DENIED
    if sent & SACL_SECURITY_INFORMATION and (not granted & ACCESS_SYSTEM_SECURITY or not granted & WRITE_DAC):
        return STATUS_ACCESS_DENIED
    return STATUS_SUCCESS


# ---- the store ----

def load(fd: int) -> SecurityDescriptor:
    try:
        return parse(os.getxattr(fd, XATTR_NAME))
    except (OSError, MalformedDescriptor):  # never set (ENODATA), or not ours to read
        return default(os.fstat(fd))


def _save(fd: int, sd: SecurityDescriptor) -> int:
    try:
        os.setxattr(fd, XATTR_NAME, pack(sd))
    except OSError as exc:
        return {errno.ENOTSUP: STATUS_NOT_SUPPORTED, errno.ENOSPC: STATUS_DISK_FULL,
                errno.E2BIG: STATUS_DISK_FULL}.get(exc.errno, STATUS_ACCESS_DENIED)
    return STATUS_SUCCESS


# ---- the wire ----

def query_info(entry: dict, additional_information: int, output_length: int):
    """The QUERY_INFO answer (respCommands, respPackets, status) for the open ``entry``."""
    wanted = additional_information
    status = query_access_status(entry.get(GRANTED_KEY, FILE_ALL_ACCESS), wanted)
    if status != STATUS_SUCCESS:
        return _error(status)
    sd = select(load(entry["FileHandle"]), wanted) if wanted & _PARTS else SecurityDescriptor()
    data = pack(sd)
    if len(data) > output_length:
        # MS-SMB2 3.3.5.20.3: the error response carries the size the client needs.
        return _error(STATUS_BUFFER_TOO_SMALL, struct.pack("<I", len(data)))
    return [RawBody(struct.pack("<HHI", 9, 0x48, len(data)) + data)], None, STATUS_SUCCESS


def set_info(entry: dict, additional_information: int, buf: bytes) -> int:
    """Carry out a SET_INFO of a descriptor on the open ``entry``; its status."""
    if not buf:
        return STATUS_INVALID_PARAMETER
    try:
        new = parse(buf)
    except MalformedDescriptor:
        return STATUS_BUFFER_TOO_SMALL  # Samba's answer to a descriptor it cannot unmarshall
    sent = additional_information & _PARTS
    if new.owner is None:
        sent &= ~OWNER_SECURITY_INFORMATION
    if new.group is None:
        sent &= ~GROUP_SECURITY_INFORMATION
    if not sent:
        return STATUS_SUCCESS  # nothing to set, as Windows answers
    status = set_access_status(entry.get(GRANTED_KEY, FILE_ALL_ACCESS), sent)
    if status != STATUS_SUCCESS:
        return status
    fd = entry["FileHandle"]
    old = load(fd)
    if sent & OWNER_SECURITY_INFORMATION and new.owner not in (old.owner, unix_user_sid(os.geteuid())):
        return STATUS_INVALID_OWNER
    return _save(fd, merge(old, new, sent))


def _error(status: int, data: bytes = b""):
    # SMB2 ERROR Response (MS-SMB2 2.2.2): StructureSize 9, no contexts, ByteCount, ErrorData.
    return [RawBody(struct.pack("<HBBI", 9, 0, 0, len(data)) + (data or b"\x00"))], None, status
