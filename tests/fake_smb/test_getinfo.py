"""QUERY_INFO as Samba answers it (smbtorture smb2.getinfo), driven through smbprotocol."""

from __future__ import annotations

import struct

import pytest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
    SMB2QueryInfoRequest,
    SMB2QueryInfoResponse,
)

INFO_FILE, INFO_FILESYSTEM = 1, 2
FILE_BASIC, FILE_ACCESS, FILE_ALL = 4, 8, 18
FS_VOLUME, FS_QUOTA, FS_OBJECTID, FS_SECTOR_SIZE = 1, 6, 8, 11
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
STATUS_BUFFER_OVERFLOW = 0x80000005
FILE_EXECUTE_READ_ATTRIBUTES = 0x20 | 0x80


def _open(tree, name, access=FilePipePrinterAccessMask.GENERIC_ALL,
          options=CreateOptions.FILE_NON_DIRECTORY_FILE):
    fh = Open(tree, name)
    fh.create(ImpersonationLevel.Impersonation, access, 0,
              ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
              CreateDisposition.FILE_OPEN_IF, options)
    return fh


def _query(fh, info_type, info_class, length=65535):
    """(status, output buffer) of a QUERY_INFO."""
    req = SMB2QueryInfoRequest()
    req["info_type"] = info_type
    req["file_info_class"] = info_class
    req["file_id"] = fh.file_id
    req["output_buffer_length"] = length
    session, tree = fh.tree_connect.session, fh.tree_connect
    try:
        response = fh.connection.receive(fh.connection.send(req, session.session_id, tree.tree_connect_id))
    except SMBResponseException as exc:
        if exc.status != STATUS_BUFFER_OVERFLOW:
            return exc.status, b""
        response = exc.header
    resp = SMB2QueryInfoResponse()
    resp.unpack(response["data"].get_value())
    return response["status"].get_value(), resp["buffer"].get_value()


@pytest.fixture
def tree(clients):
    return clients.login().tree


@pytest.mark.parametrize("options", [CreateOptions.FILE_NON_DIRECTORY_FILE, CreateOptions.FILE_DIRECTORY_FILE])
def test_access_information_is_the_granted_access(tree, options):
    fh = _open(tree, "granted", FILE_EXECUTE_READ_ATTRIBUTES, options)
    assert _query(fh, INFO_FILE, FILE_ACCESS) == (0, struct.pack("<I", FILE_EXECUTE_READ_ATTRIBUTES))
    status, info = _query(fh, INFO_FILE, FILE_ALL)
    assert status == 0
    assert struct.unpack_from("<II", info, 72) == (0, FILE_EXECUTE_READ_ATTRIBUTES)  # EaSize, AccessFlags


def test_buffer_below_the_fixed_size_is_info_length_mismatch(tree):
    fh = _open(tree, "small.txt")
    assert _query(fh, INFO_FILE, FILE_BASIC, 39)[0] == STATUS_INFO_LENGTH_MISMATCH
    assert _query(fh, INFO_FILE, FILE_BASIC, 40)[0] == 0
    assert _query(fh, INFO_FILESYSTEM, FS_VOLUME, 1)[0] == STATUS_INFO_LENGTH_MISMATCH
    assert _query(fh, INFO_FILE, FILE_ALL, 103)[0] == STATUS_INFO_LENGTH_MISMATCH


def test_buffer_below_the_variable_part_is_buffer_overflow_with_what_fits(tree):
    fh = _open(tree, "a-rather-long-name.txt")
    status, full = _query(fh, INFO_FILE, FILE_ALL)
    assert status == 0 and len(full) > 104
    assert _query(fh, INFO_FILE, FILE_ALL, 104) == (STATUS_BUFFER_OVERFLOW, full[:104])
    assert _query(fh, INFO_FILE, FILE_ALL, len(full)) == (0, full)


@pytest.mark.parametrize("cls, size", [(FS_QUOTA, 48), (FS_OBJECTID, 64), (FS_SECTOR_SIZE, 28)])
def test_filesystem_classes_samba_answers(tree, cls, size):
    fh = _open(tree, "", FilePipePrinterAccessMask.GENERIC_READ, CreateOptions.FILE_DIRECTORY_FILE)
    status, info = _query(fh, INFO_FILESYSTEM, cls)
    assert status == 0 and len(info) == size


@pytest.mark.parametrize("name, short", [("bufsize.txt", "BUFSIZE.TXT"), ("testsmb2_file.dat", "TESTSM~1.DAT")])
def test_alternate_name_is_an_8_3_name(tree, name, short):
    fh = _open(tree, name)
    encoded = short.encode("utf-16le")
    assert _query(fh, INFO_FILE, 21) == (0, struct.pack("<I", len(encoded)) + encoded)


def test_normalized_name_is_the_path_from_the_share_root(tree):
    _open(tree, "d", options=CreateOptions.FILE_DIRECTORY_FILE)
    encoded = "d\\f.txt".encode("utf-16le")
    assert _query(_open(tree, "d\\f.txt"), INFO_FILE, 48) == (0, struct.pack("<I", len(encoded)) + encoded)
    root = _open(tree, "", FilePipePrinterAccessMask.GENERIC_READ, CreateOptions.FILE_DIRECTORY_FILE)
    assert _query(root, INFO_FILE, 48) == (0, struct.pack("<I", 0))
