"""The fields of an SMB2 CREATE refused before anything is opened, as smbd refuses them.

MS-SMB2 2.2.13 says the server MUST validate ImpersonationLevel and otherwise ignore
it: smbd answers a level past SecurityDelegation BAD_IMPERSONATION_LEVEL (smbtorture
smb2.create.impersonation).  A directory cannot be temporary: FILE_DIRECTORY_FILE
with FILE_ATTRIBUTE_TEMPORARY is INVALID_PARAMETER (smbd's open, after the IFS kit;
SET_INFO of the attribute on a directory is refused the same way, set_info.py).
"""

from __future__ import annotations

from impacket.nt_errors import (
    STATUS_BAD_IMPERSONATION_LEVEL,
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
)

# ImpersonationLevel (MS-SMB2 2.2.13): Anonymous 0, Identification 1, Impersonation 2, Delegate 3
SECURITY_DELEGATION = 3
FILE_ATTRIBUTE_TEMPORARY = 0x00000100
FILE_DIRECTORY_FILE = 0x00000001


def impersonation_status(level: int) -> int:
    """BAD_IMPERSONATION_LEVEL for a level MS-SMB2 does not define, else SUCCESS."""
    return STATUS_BAD_IMPERSONATION_LEVEL if level > SECURITY_DELEGATION else STATUS_SUCCESS


def attributes_status(options: int, attributes: int) -> int:
    """INVALID_PARAMETER for a directory asked to be temporary, else SUCCESS."""
    if options & FILE_DIRECTORY_FILE and attributes & FILE_ATTRIBUTE_TEMPORARY:
        return STATUS_INVALID_PARAMETER
    return STATUS_SUCCESS


def temporary_directory(is_dir: bool, attributes: int) -> bool:
    """Whether a new set of attributes would make a directory temporary (SET_INFO)."""
    return is_dir and bool(attributes & FILE_ATTRIBUTE_TEMPORARY)
