"""Sparse files over the wire: FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA,
FSCTL_QUERY_ALLOCATED_RANGES and the sparse attribute, as Samba answers them (smbtorture
smb2.ioctl.sparse_*).

Each test runs against fake_smb and, where Samba is at hand (marked ``samba``), against a
real smbd with the same expectations; every expected status here was first read from Samba
4.17. Samba's share outlives a test, so every test uses file names of its own.
"""

from __future__ import annotations

import struct
import uuid

import pytest
from smbprotocol.open import CreateDisposition, CreateOptions, FilePipePrinterAccessMask

from tests.fake_smb.raw_requests import open_file, query_info
from tests.fake_smb.test_copy_chunk import ioctl
from tests.fake_smb.test_locks_wire import EX, SH, lock
from tests.fake_smb.test_query_directory import DIRECTORY, query

SET_SPARSE, ZERO_DATA, QUERY_RANGES = 0x000900C4, 0x000980C8, 0x000940CF
SPARSE = 0x200
FILE_SUPPORTS_SPARSE_FILES = 0x40
STATUS_SUCCESS = 0
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_FILE_LOCK_CONFLICT = 0xC0000054
STATUS_DISK_FULL = 0xC000007F
READ_DATA, WRITE_DATA, APPEND_DATA, READ_EA, WRITE_EA = 0x1, 0x2, 0x4, 0x8, 0x10
EXECUTE, READ_ATTRIBUTES, WRITE_ATTRIBUTES = 0x20, 0x80, 0x100
FILE_BASIC, FILE_ALL, FILE_NETWORK_OPEN, FS_ATTRIBUTE = 4, 18, 34, 5


@pytest.fixture
def tree(login):
    return login()


@pytest.fixture
def name() -> str:
    return f"sparse-{uuid.uuid4().hex[:8]}.dat"


def create(tree, name: str, content: bytes = b"", access: int = FilePipePrinterAccessMask.GENERIC_ALL):
    """A new file (any old one overwritten) holding ``content``."""
    handle = open_file(tree, name, access, CreateDisposition.FILE_OVERWRITE_IF)
    if content:
        handle.write(content, 0)
    return handle


def set_sparse(handle, data: bytes = b"\x01") -> int:
    return ioctl(handle, SET_SPARSE, data, max_output=0)[0]


def zero(handle, offset: int, beyond_final_zero: int) -> int:
    return ioctl(handle, ZERO_DATA, struct.pack("<QQ", offset, beyond_final_zero), max_output=0)[0]


def ranges(handle, offset: int, length: int, max_output: int = 1024) -> tuple[int, list[tuple[int, int]]]:
    """(status, the (offset, length) ranges) of a QUERY_ALLOCATED_RANGES."""
    status, out = ioctl(handle, QUERY_RANGES, struct.pack("<QQ", offset, length), max_output)
    return status, [struct.unpack_from("<QQ", out, i) for i in range(0, len(out), 16)]


def attributes(handle) -> int:
    return struct.unpack_from("<I", query_info(handle, 1, FILE_BASIC)[1], 32)[0]


def is_sparse(handle) -> bool:
    return bool(attributes(handle) & SPARSE)


def test_the_share_supports_sparse_files(tree, name):
    status, info = query_info(create(tree, name), 2, FS_ATTRIBUTE)
    assert status == STATUS_SUCCESS
    assert struct.unpack_from("<I", info, 0)[0] & FILE_SUPPORTS_SPARSE_FILES


@pytest.mark.parametrize("data, sparse", [
    (b"\x01", True), (b"\xff", True), (b"", True),  # no FILE_SET_SPARSE_BUFFER: set
    (b"\xff" + bytes(99), True), (b"\x00" + b"\xff" * 99, False),  # only the first byte counts
    (b"\x00", False),
])
def test_set_sparse_sets_or_clears_the_attribute(tree, name, data, sparse):
    handle = create(tree, name)
    assert not is_sparse(handle)
    assert set_sparse(handle, b"\x00" if sparse else b"\x01") == STATUS_SUCCESS
    assert set_sparse(handle, data) == STATUS_SUCCESS
    assert is_sparse(handle) == sparse
    all_info = query_info(handle, 1, FILE_ALL)[1]
    assert bool(struct.unpack_from("<I", all_info, 32)[0] & SPARSE) == sparse


def test_the_attribute_is_the_files_and_every_answer_reports_it(login, name):
    tree = login()
    first = create(tree, name)
    assert first.file_attributes & SPARSE == 0  # asked for nowhere yet
    assert set_sparse(first) == STATUS_SUCCESS
    second = open_file(login(), name, disposition=CreateDisposition.FILE_OPEN)
    assert second.file_attributes & SPARSE  # the CREATE response of another connection
    assert is_sparse(second)
    network_open = query_info(second, 1, FILE_NETWORK_OPEN)[1]
    assert struct.unpack_from("<I", network_open, 48)[0] & SPARSE
    folder = open_file(tree, "", options=CreateOptions.FILE_DIRECTORY_FILE,
                       disposition=CreateDisposition.FILE_OPEN)
    status, entries = query(folder, name, info_class=DIRECTORY)
    assert status == STATUS_SUCCESS and len(entries) == 1
    assert struct.unpack_from("<I", entries[0], 56)[0] & SPARSE  # FileAttributes of the entry
    second.close(get_attributes=True)
    assert second.file_attributes & SPARSE


def test_a_sparse_attribute_asked_for_at_create_is_not_kept(tree, name):
    handle = open_file(tree, name, disposition=CreateDisposition.FILE_OVERWRITE_IF,
                       attributes=0x80 | SPARSE)
    assert handle.file_attributes & SPARSE == 0
    assert not is_sparse(handle)


def test_a_new_or_overwritten_file_is_not_sparse(tree, name):
    def sparse_after(disposition: int, options: int = CreateOptions.FILE_NON_DIRECTORY_FILE) -> bool:
        # DELETE by name: Samba wants it in the request for FILE_DELETE_ON_CLOSE, GENERIC_ALL is not enough
        access = FilePipePrinterAccessMask.GENERIC_ALL | FilePipePrinterAccessMask.DELETE
        handle = open_file(tree, name, access, disposition, options)
        answer = is_sparse(handle)
        assert set_sparse(handle) == STATUS_SUCCESS  # for the next open
        handle.close()
        return answer

    assert not sparse_after(CreateDisposition.FILE_CREATE)
    assert sparse_after(CreateDisposition.FILE_OPEN)
    assert not sparse_after(CreateDisposition.FILE_OVERWRITE)  # the new attributes replace the old
    assert not sparse_after(CreateDisposition.FILE_SUPERSEDE)
    assert sparse_after(CreateDisposition.FILE_OPEN,
                        CreateOptions.FILE_NON_DIRECTORY_FILE | CreateOptions.FILE_DELETE_ON_CLOSE)
    # Deleted, then created again under its name (on ext4 with the inode of the old one).
    assert not sparse_after(CreateDisposition.FILE_CREATE)


def test_a_directory_cannot_be_sparse_nor_zeroed(tree, name):
    folder = open_file(tree, name, options=CreateOptions.FILE_DIRECTORY_FILE)
    assert set_sparse(folder) == STATUS_INVALID_PARAMETER
    assert zero(folder, 0, 10) == STATUS_INVALID_HANDLE
    assert ranges(folder, 0, 100000) == (STATUS_SUCCESS, [])  # no data of its own


# (access, SET_SPARSE, ZERO_DATA, QUERY_ALLOCATED_RANGES): Samba's checks, after Windows'.
ACCESS_CASES = [
    (WRITE_DATA, STATUS_SUCCESS, STATUS_SUCCESS, STATUS_ACCESS_DENIED),
    (APPEND_DATA, STATUS_SUCCESS, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED),
    (WRITE_ATTRIBUTES, STATUS_SUCCESS, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED),
    (WRITE_EA, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED),
    (READ_DATA, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED, STATUS_SUCCESS),
    (EXECUTE, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED),
    (READ_ATTRIBUTES | READ_EA, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED, STATUS_ACCESS_DENIED),
]


@pytest.mark.parametrize("access, on_set, on_zero, on_query", ACCESS_CASES)
def test_each_fsctl_needs_its_access(tree, name, access, on_set, on_zero, on_query):
    create(tree, name, b"\x01" * 8192).close()
    handle = open_file(tree, name, access, CreateDisposition.FILE_OPEN)
    assert set_sparse(handle) == on_set
    assert zero(handle, 0, 4096) == on_zero
    assert ranges(handle, 0, 4096)[0] == on_query
    handle.close()
    check = open_file(tree, name, disposition=CreateDisposition.FILE_OPEN)
    assert is_sparse(check) == (on_set == STATUS_SUCCESS)
    assert check.read(0, 8192) == (bytes(4096) if on_zero == STATUS_SUCCESS else b"\x01" * 4096) + b"\x01" * 4096


@pytest.mark.parametrize("sparse", [False, True])
def test_zero_data_zeroes_the_range_and_keeps_the_size(tree, name, sparse):
    handle = create(tree, name, b"\x01" * 10000)
    if sparse:
        assert set_sparse(handle) == STATUS_SUCCESS
    assert zero(handle, 100, 5000) == STATUS_SUCCESS
    assert zero(handle, 9000, 20000) == STATUS_SUCCESS  # past end of file: the file does not grow
    assert zero(handle, 30000, 40000) == STATUS_SUCCESS
    assert handle.read(0, 20000) == b"\x01" * 100 + bytes(4900) + b"\x01" * 4000 + bytes(1000)


@pytest.mark.parametrize("data, status, zeroed", [
    (struct.pack("<QQ", 4096, 4095), STATUS_INVALID_PARAMETER, 0),  # ends before it starts
    (struct.pack("<QQ", 4095, 4095), STATUS_SUCCESS, 0),  # nothing to zero
    (struct.pack("<Q", 0), STATUS_INVALID_PARAMETER, 0),  # no FILE_ZERO_DATA_INFORMATION
    (struct.pack("<QQI", 0, 5, 0), STATUS_SUCCESS, 5),  # bytes past it are ignored
    (struct.pack("<QQ", 1 << 63, (1 << 63) + 10), STATUS_INVALID_PARAMETER, 0),  # a negative offset
    (struct.pack("<QQ", 1 << 62, (1 << 62) + 10), STATUS_DISK_FULL, 0),  # past the largest file
    (struct.pack("<QQ", 5000, (1 << 64) - 1), STATUS_INVALID_PARAMETER, 0),  # a negative length
])
def test_zero_data_refuses_bad_ranges(tree, name, data, status, zeroed):
    handle = create(tree, name, b"\x01" * 8192)
    assert ioctl(handle, ZERO_DATA, data, max_output=0)[0] == status
    assert handle.read(0, 8192) == bytes(zeroed) + b"\x01" * (8192 - zeroed)


@pytest.mark.parametrize("flags", [EX, SH])
def test_zero_data_is_refused_in_another_opens_locked_range(login, name, flags):
    handle = create(login(), name, b"\x01" * 8192)
    other = open_file(login(), name, disposition=CreateDisposition.FILE_OPEN)
    assert lock(other, (0, 4096, flags | 0x10)) == STATUS_SUCCESS
    assert zero(handle, 0, 4096) == STATUS_FILE_LOCK_CONFLICT
    assert zero(handle, 4000, 5000) == STATUS_FILE_LOCK_CONFLICT  # an overlap is enough
    assert zero(handle, 4096, 8192) == STATUS_SUCCESS
    assert ranges(handle, 0, 4096) == (STATUS_SUCCESS, [(0, 4096)])  # locks do not stop a query
    assert other.read(0, 8192) == b"\x01" * 4096 + bytes(4096)  # the holder may read its range
    if flags == EX:  # the holder of an exclusive lock may zero in it, as it may write
        assert zero(other, 0, 100) == STATUS_SUCCESS


SIZE = 128 * 1024
CHUNK = 64 * 1024  # a multiple of any file system's block


@pytest.mark.parametrize("offset, length, expected", [
    (0, 0, []), (0, SIZE - 1, [(0, SIZE - 1)]), (0, SIZE + 1, [(0, SIZE)]),
    (1, SIZE, [(1, SIZE - 1)]), (SIZE - 1, 10, [(SIZE - 1, 1)]), (SIZE, 10, []), (SIZE + 1, 10, []),
    (0, 1 << 63, [(0, SIZE)]), (SIZE, (1 << 64) - 1, []),  # from end of file on, no overflow check
])
def test_a_file_not_sparse_is_allocated_up_to_its_end(tree, name, offset, length, expected):
    handle = create(tree, name, b"\x01" * 1024)
    handle.write(b"\x01" * 1024, SIZE - 1024)  # a hole in the middle, which does not count
    assert ranges(handle, offset, length) == (STATUS_SUCCESS, expected)


def test_a_sparse_file_is_allocated_where_it_holds_data(tree, name):
    handle = create(tree, name)
    assert set_sparse(handle) == STATUS_SUCCESS
    assert ranges(handle, 0, 1024) == (STATUS_SUCCESS, [])
    handle.write(b"\x01" * 2 * CHUNK, CHUNK)  # after a hole never written
    assert ranges(handle, 0, 3 * CHUNK) == (STATUS_SUCCESS, [(CHUNK, 2 * CHUNK)])
    assert ranges(handle, CHUNK + 1, 100) == (STATUS_SUCCESS, [(CHUNK + 1, 100)])
    assert zero(handle, CHUNK, 2 * CHUNK) == STATUS_SUCCESS  # whole blocks: deallocated
    assert ranges(handle, 0, 3 * CHUNK) == (STATUS_SUCCESS, [(2 * CHUNK, CHUNK)])
    assert set_sparse(handle, b"\x00") == STATUS_SUCCESS  # no longer sparse: all allocated
    assert ranges(handle, 0, 3 * CHUNK) == (STATUS_SUCCESS, [(0, 3 * CHUNK)])
    assert handle.read(0, 3 * CHUNK) == bytes(2 * CHUNK) + b"\x01" * CHUNK


@pytest.mark.parametrize("data, max_output, status, answer", [
    (struct.pack("<QQ", 0, 100), 15, STATUS_BUFFER_TOO_SMALL, b""),  # one range does not fit
    (struct.pack("<QQ", 5000, 100), 0, STATUS_SUCCESS, b""),  # past the end: no range to fit
    (struct.pack("<QQ", 0, 100) * 2, 1024, STATUS_SUCCESS, struct.pack("<QQ", 0, 100)),  # the rest ignored
    (struct.pack("<Q", 0), 1024, STATUS_INVALID_PARAMETER, b""),  # no range
    (b"", 1024, STATUS_INVALID_PARAMETER, b""),
    (struct.pack("<QQ", 512, (1 << 64) - 1), 1024, STATUS_INVALID_PARAMETER, b""),  # wraps past 2^64
])
def test_query_allocated_ranges_refuses_bad_requests(tree, name, data, max_output, status, answer):
    handle = create(tree, name, b"\x01" * 1024)
    assert ioctl(handle, QUERY_RANGES, data, max_output) == (status, answer)
