"""The information classes SET_INFO and QUERY_INFO name (MS-FSCC 2.4, 2.5), and what both
handlers look up first: the open a request names, its share's root, its granted access and
its position.
"""

from __future__ import annotations

from ibs.fake_smb.access import FILE_ALL_ACCESS, GRANTED_KEY
from ibs.fake_smb.handler_util import resolve_fid, share_root

SMB2_0_INFO_FILE = 0x01
SMB2_0_INFO_FILESYSTEM = 0x02
# File information classes (MS-FSCC 2.4)
FILE_BASIC_INFORMATION = 4
FILE_STANDARD_INFORMATION = 5
FILE_INTERNAL_INFORMATION = 6
FILE_EA_INFORMATION = 7
FILE_ACCESS_INFORMATION = 8
FILE_RENAME_INFORMATION = 10
FILE_DISPOSITION_INFORMATION = 13
FILE_POSITION_INFORMATION = 14
FILE_MODE_INFORMATION = 16
FILE_FULL_EA_INFORMATION = 15
FILE_ALIGNMENT_INFORMATION = 17
FILE_ALL_INFORMATION = 18
FILE_ALLOCATION_INFORMATION = 19
FILE_END_OF_FILE_INFORMATION = 20
FILE_ALTERNATE_NAME_INFORMATION = 21
FILE_COMPRESSION_INFORMATION = 28
FILE_NETWORK_OPEN_INFORMATION = 34
FILE_ATTRIBUTE_TAG_INFORMATION = 35
FILE_NORMALIZED_NAME_INFORMATION = 48
FILE_DISPOSITION_INFORMATION_EX = 64
# File system information classes (MS-FSCC 2.5)
FILE_FS_SIZE_INFORMATION = 3
FILE_FS_ATTRIBUTE_INFORMATION = 5
FILE_FS_CONTROL_INFORMATION = 6
FILE_FS_FULL_SIZE_INFORMATION = 7
FILE_FS_OBJECTID_INFORMATION = 8
FILE_FS_SECTOR_SIZE_INFORMATION = 11


def open_file(conn_data, req, packet):
    """The open file a SET_INFO or QUERY_INFO names, and its share's root; None if unknown."""
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, req["FileID"].getData()))
    root = share_root(conn_data, packet["TreeID"])
    return None if entry is None or root is None else (entry, root)


def granted(entry: dict) -> int:
    """The access CREATE granted the open (access.py); all of it for an open impacket made."""
    return entry.get(GRANTED_KEY, FILE_ALL_ACCESS)


def position(entry: dict) -> int:
    """The open's CurrentByteOffset (MS-FSCC 2.4.35): a READ moves it past what it
    returned (file_io), SET_INFO sets it; a WRITE leaves it, as in Samba."""
    return entry.get("Position", 0)
