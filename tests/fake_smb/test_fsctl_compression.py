"""FSCTL_GET/SET_COMPRESSION on a share without compression, as Samba answers them
(smbtorture smb2.ioctl.compress_notsup_get, compress_notsup_set)."""

from __future__ import annotations

import struct

import pytest

from tests.fake_smb.raw_requests import open_file
from tests.fake_smb.test_copy_chunk import ioctl

GET_COMPRESSION, SET_COMPRESSION = 0x0009003C, 0x0009C040
NONE, DEFAULT, LZNT1 = 0, 1, 2
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_INVALID_PARAMETER = 0xC000000D


@pytest.fixture
def handle(clients):
    return open_file(clients.login().tree, "f.txt")


def test_every_file_is_uncompressed(handle):
    assert ioctl(handle, GET_COMPRESSION, max_output=2) == (0, struct.pack("<H", NONE))
    assert ioctl(handle, GET_COMPRESSION, max_output=1)[0] == STATUS_INVALID_PARAMETER


@pytest.mark.parametrize("fmt, expected", [(NONE, 0), (DEFAULT, STATUS_NOT_SUPPORTED),
                                           (LZNT1, STATUS_NOT_SUPPORTED), (0x42, STATUS_INVALID_PARAMETER)])
def test_only_no_compression_can_be_set(handle, fmt, expected):
    assert ioctl(handle, SET_COMPRESSION, struct.pack("<H", fmt), max_output=0)[0] == expected
    assert ioctl(handle, GET_COMPRESSION, max_output=2)[1] == struct.pack("<H", NONE)
