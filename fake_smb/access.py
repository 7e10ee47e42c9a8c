"""The access an open was granted, and what it allows (MS-SMB2 3.3.5.9, 3.3.5.12).

Checked as smbd 4.17 checks them: READ needs FILE_READ_DATA or FILE_EXECUTE, WRITE and
FLUSH FILE_WRITE_DATA or FILE_APPEND_DATA (a directory's FILE_ADD_FILE and
FILE_ADD_SUBDIRECTORY, the same bits, let it be flushed but never written), a new end of
file or allocation size FILE_WRITE_DATA, FileBasicInformation FILE_WRITE_ATTRIBUTES, a
delete pending DELETE and renaming a file DELETE or FILE_WRITE_ATTRIBUTES (a directory
needs neither).  The handlers ask ``allows`` (or may_read, may_write) on every path.

CREATE grants what the client asked for, its generic rights mapped to file rights
(MS-DTYP 2.4.3, the file generic mapping of MS-SMB2 3.3.5.9); fake_smb checks no
security descriptor, so MAXIMUM_ALLOWED grants everything.  The grant is kept on
the open under ``GRANTED_KEY``; an open without one (made by impacket's own code)
may do everything.
"""

from __future__ import annotations

GRANTED_KEY = "GrantedAccess"

FILE_READ_DATA = 0x00000001
FILE_WRITE_DATA = 0x00000002
FILE_APPEND_DATA = 0x00000004
FILE_EXECUTE = 0x00000020
FILE_WRITE_ATTRIBUTES = 0x00000100
DELETE = 0x00010000
FILE_ALL_ACCESS = 0x001F01FF
MAXIMUM_ALLOWED = 0x02000000
GENERIC_ALL = 0x10000000
GENERIC_EXECUTE = 0x20000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000

_GENERIC = {
    GENERIC_READ: 0x00120089,  # FILE_GENERIC_READ
    GENERIC_WRITE: 0x00120116,  # FILE_GENERIC_WRITE
    GENERIC_EXECUTE: 0x001200A0,  # FILE_GENERIC_EXECUTE
    GENERIC_ALL: FILE_ALL_ACCESS,
    MAXIMUM_ALLOWED: FILE_ALL_ACCESS,
}


def granted(desired: int) -> int:
    """The file rights a CREATE asking for ``desired`` is granted."""
    rights = desired & FILE_ALL_ACCESS
    for generic, mapped in _GENERIC.items():
        if desired & generic:
            rights |= mapped
    return rights


def may_read(entry: dict) -> bool:
    """READ needs FILE_READ_DATA or FILE_EXECUTE (as Samba's CHECK_READ_SMB2)."""
    return bool(entry.get(GRANTED_KEY, FILE_ALL_ACCESS) & (FILE_READ_DATA | FILE_EXECUTE))


def may_write(entry: dict, is_dir: bool) -> bool:
    """WRITE needs FILE_WRITE_DATA or FILE_APPEND_DATA, and never succeeds on a directory:
    smbd refuses both ACCESS_DENIED (its CHECK_WRITE; a directory open has no write
    permission at all, though FILE_ADD_FILE is FILE_WRITE_DATA's bit)."""
    rights = entry.get(GRANTED_KEY, FILE_ALL_ACCESS)
    return not is_dir and bool(rights & (FILE_WRITE_DATA | FILE_APPEND_DATA))


def allows(entry: dict, rights: int) -> bool:
    """Whether the open was granted any of ``rights``."""
    return bool(entry.get(GRANTED_KEY, FILE_ALL_ACCESS) & rights)
