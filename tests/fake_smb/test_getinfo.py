"""QUERY_INFO as Samba answers it (smbtorture smb2.getinfo), driven through smbprotocol."""

from __future__ import annotations

import struct

import pytest
from smbprotocol.open import (
    CreateOptions,
    FilePipePrinterAccessMask,
)

from tests.fake_smb.raw_requests import STATUS_BUFFER_OVERFLOW, open_file, query_info

INFO_FILE, INFO_FILESYSTEM = 1, 2
FILE_BASIC, FILE_ACCESS, FILE_ALL = 4, 8, 18
FS_VOLUME, FS_QUOTA, FS_OBJECTID, FS_SECTOR_SIZE = 1, 6, 8, 11
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
FILE_EXECUTE_READ_ATTRIBUTES = 0x20 | 0x80


@pytest.fixture
def tree(clients):
    return clients.login().tree


@pytest.mark.parametrize("options", [CreateOptions.FILE_NON_DIRECTORY_FILE, CreateOptions.FILE_DIRECTORY_FILE])
def test_access_information_is_the_granted_access(tree, options):
    fh = open_file(tree, "granted", FILE_EXECUTE_READ_ATTRIBUTES, options=options)
    assert query_info(fh, INFO_FILE, FILE_ACCESS) == (0, struct.pack("<I", FILE_EXECUTE_READ_ATTRIBUTES))
    status, info = query_info(fh, INFO_FILE, FILE_ALL)
    assert status == 0
    assert struct.unpack_from("<II", info, 72) == (0, FILE_EXECUTE_READ_ATTRIBUTES)  # EaSize, AccessFlags


def test_buffer_below_the_fixed_size_is_info_length_mismatch(tree):
    fh = open_file(tree, "small.txt")
    assert query_info(fh, INFO_FILE, FILE_BASIC, 39)[0] == STATUS_INFO_LENGTH_MISMATCH
    assert query_info(fh, INFO_FILE, FILE_BASIC, 40)[0] == 0
    assert query_info(fh, INFO_FILESYSTEM, FS_VOLUME, 1)[0] == STATUS_INFO_LENGTH_MISMATCH
    assert query_info(fh, INFO_FILE, FILE_ALL, 103)[0] == STATUS_INFO_LENGTH_MISMATCH


def test_buffer_below_the_variable_part_is_buffer_overflow_with_what_fits(tree):
    fh = open_file(tree, "a-rather-long-name.txt")
    status, full = query_info(fh, INFO_FILE, FILE_ALL)
    assert status == 0 and len(full) > 104
    assert query_info(fh, INFO_FILE, FILE_ALL, 104) == (STATUS_BUFFER_OVERFLOW, full[:104])
    assert query_info(fh, INFO_FILE, FILE_ALL, len(full)) == (0, full)


@pytest.mark.parametrize("cls, size", [(FS_QUOTA, 48), (FS_OBJECTID, 64), (FS_SECTOR_SIZE, 28)])
def test_filesystem_classes_samba_answers(tree, cls, size):
    fh = open_file(tree, "", FilePipePrinterAccessMask.GENERIC_READ,
                   options=CreateOptions.FILE_DIRECTORY_FILE)
    status, info = query_info(fh, INFO_FILESYSTEM, cls)
    assert status == 0 and len(info) == size


@pytest.mark.parametrize("name, short", [("bufsize.txt", "BUFSIZE.TXT"), ("testsmb2_file.dat", "TESTSM~1.DAT")])
def test_alternate_name_is_an_8_3_name(tree, name, short):
    fh = open_file(tree, name)
    encoded = short.encode("utf-16le")
    assert query_info(fh, INFO_FILE, 21) == (0, struct.pack("<I", len(encoded)) + encoded)


def test_normalized_name_is_the_path_from_the_share_root(tree):
    open_file(tree, "d", options=CreateOptions.FILE_DIRECTORY_FILE)
    encoded = "d\\f.txt".encode("utf-16le")
    assert query_info(open_file(tree, "d\\f.txt"), INFO_FILE, 48) == (0, struct.pack("<I", len(encoded)) + encoded)
    root = open_file(tree, "", FilePipePrinterAccessMask.GENERIC_READ,
                   options=CreateOptions.FILE_DIRECTORY_FILE)
    assert query_info(root, INFO_FILE, 48) == (0, struct.pack("<I", 0))
