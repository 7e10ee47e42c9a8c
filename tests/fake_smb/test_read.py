"""READ as Samba answers it (smbtorture smb2.read, smb2.rw), driven through smbprotocol."""

from __future__ import annotations

import pytest
from smbprotocol.exceptions import AccessDenied, EndOfFile, InvalidParameter
from smbprotocol.file_info import FileAllInformation, FilePositionInformation
from smbprotocol.open import (
    CreateDisposition,
    FilePipePrinterAccessMask,
)

from tests.fake_smb.raw_requests import open_file, query_info, set_info

SIZE = 64 * 1024


def _query(fh, info_class):
    status, buffer = query_info(fh, info_class.INFO_TYPE, info_class.INFO_CLASS, 4096)
    assert status == 0, hex(status)
    info = info_class()
    info.unpack(buffer)
    return info


def _set_position(fh, value):
    info = FilePositionInformation()
    info["current_byte_offset"] = value
    set_info(fh, info)


def _position(fh):
    return _query(fh, FilePositionInformation)["current_byte_offset"].get_value()


@pytest.fixture
def fh(clients):
    """An open file holding SIZE zero bytes."""
    handle = open_file(clients.login().tree, "read.dat",
                       disposition=CreateDisposition.FILE_OVERWRITE_IF)
    handle.write(b"\0" * SIZE, 0)
    return handle


def test_zero_length_read_at_end_of_file_succeeds(fh):
    assert fh.read(SIZE, 0) == b""
    assert fh.read(SIZE + 100, 0) == b""  # past end of file too


def test_read_at_end_of_file_is_end_of_file(fh):
    with pytest.raises(EndOfFile):
        fh.read(SIZE, 10)


def test_minimum_count_not_reached_is_end_of_file(fh):
    with pytest.raises(EndOfFile):
        fh.read(SIZE, 0, min_length=1)  # zero-length, but one byte wanted
    with pytest.raises(EndOfFile):
        fh.read(SIZE - 1, 1, min_length=2)  # one byte left, two wanted
    with pytest.raises(EndOfFile):
        fh.read(0, 5, min_length=10)  # MinimumCount above Length
    assert fh.read(SIZE - 1, 2) == b"\0"  # a short read without a minimum succeeds


def test_read_moves_the_file_position(fh):
    # Samba keeps the position past the last READ (smbtorture smb2.read.position);
    # a WRITE leaves it where it was.
    assert _position(fh) == 0
    assert fh.read(0, 10) == b"\0" * 10
    assert _position(fh) == 10
    all_info = _query(fh, FileAllInformation)
    assert all_info["position_information"]["current_byte_offset"].get_value() == 10
    fh.write(b"x" * 5, 100)
    assert _position(fh) == 10
    fh.read(SIZE - 3, 10)
    assert _position(fh) == SIZE


def test_set_info_sets_the_file_position(fh):
    _set_position(fh, 1234)
    assert _position(fh) == 1234


FILE_READ_DATA, FILE_EXECUTE, FILE_READ_ATTRIBUTES = 0x1, 0x20, 0x80


@pytest.mark.parametrize("access", [
    FILE_READ_ATTRIBUTES | FILE_READ_DATA,
    FILE_READ_ATTRIBUTES | FILE_EXECUTE,
    FilePipePrinterAccessMask.GENERIC_READ,
    FilePipePrinterAccessMask.MAXIMUM_ALLOWED,
])
def test_read_with_read_or_execute_access(fh, access):
    other = open_file(fh.tree_connect, "read.dat", access, CreateDisposition.FILE_OPEN)
    assert other.read(0, 5) == b"\0" * 5


@pytest.mark.parametrize("access", [FILE_READ_ATTRIBUTES, FilePipePrinterAccessMask.GENERIC_WRITE])
def test_read_without_read_access_is_denied(fh, access):
    # smbtorture smb2.read.access: the open's access mask is enforced.
    other = open_file(fh.tree_connect, "read.dat", access, CreateDisposition.FILE_OPEN)
    with pytest.raises(AccessDenied):
        other.read(0, 5)


INT64_MAX = (1 << 63) - 1
MAX_FILE_SIZE = 0xFFFFFFF0000  # MS-FSA 2.1.5.3


def test_read_range_past_a_signed_64_bit_offset_is_invalid(fh):
    # smbtorture smb2.rw.invalid, as Samba answers; the connection stays usable.
    with pytest.raises(EndOfFile):
        fh.read(INT64_MAX - 1, 1)
    assert fh.read(INT64_MAX, 0) == b""
    for offset, length in [(INT64_MAX, 1), (INT64_MAX + 1, 0), ((1 << 64) - 1, 0)]:
        with pytest.raises(InvalidParameter):
            fh.read(offset, length)
    assert fh.read(0, 3) == b"\0" * 3


def test_write_range_past_max_file_size_is_invalid(fh, share):
    for offset, data in [((1 << 64) - 1, b"x"), (1 << 63, b""), (INT64_MAX, b"x"), (MAX_FILE_SIZE, b"x")]:
        with pytest.raises(InvalidParameter):
            fh.write(data, offset)
    assert fh.write(b"", INT64_MAX) == 0  # nothing written, nothing grows
    assert fh.write(b"", MAX_FILE_SIZE) == 0
    assert (share / "read.dat").stat().st_size == SIZE
