"""READ as Samba answers it (smbtorture smb2.read, smb2.rw), driven through smbprotocol."""

from __future__ import annotations

import pytest
from smbprotocol.exceptions import EndOfFile
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)

SIZE = 64 * 1024


def _open(tree, name, access=FilePipePrinterAccessMask.GENERIC_ALL,
          disposition=CreateDisposition.FILE_OVERWRITE_IF):
    fh = Open(tree, name)
    fh.create(ImpersonationLevel.Impersonation, access, 0,
              ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
              disposition, CreateOptions.FILE_NON_DIRECTORY_FILE)
    return fh


@pytest.fixture
def fh(clients):
    """An open file holding SIZE zero bytes."""
    handle = _open(clients.login().tree, "read.dat")
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
