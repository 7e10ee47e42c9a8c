"""The access an open was granted binds what it may do: WRITE needs FILE_WRITE_DATA or
FILE_APPEND_DATA, alone or in a compound (smbtorture smb2.compound.related6), and a
directory is never written.  Against fake_smb and, where Samba is at hand, smbd.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

import pytest
from smbprotocol.exceptions import AccessDenied, SMBResponseException
from smbprotocol.file_info import (
    FileBasicInformation,
    FileDispositionInformation,
    FileEndOfFileInformation,
    FileRenameInformation,
    InfoType,
)
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FileAttributes,
    ShareAccess,
)
from smbprotocol.structure import IntField, Structure

from tests.fake_smb.raw_requests import open_file, set_info
from tests.fake_smb.test_compound import (
    CLOSE,
    CREATE,
    READ,
    WRITE,
    Req,
    close_body,
    read_body,
    wire,
    write_body,
)
from tests.fake_smb.test_create_checks import peer

__all__ = ["peer", "wire"]  # fixtures

FILE_READ_DATA, FILE_WRITE_DATA, FILE_APPEND_DATA = 0x1, 0x2, 0x4
FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES, SYNCHRONIZE = 0x80, 0x100, 0x100000
GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED = 0x80000000, 0x40000000, 0x02000000
STATUS_ACCESS_DENIED = 0xC0000022
DELETE = 0x00010000
CONTENT = b"0123456789"


def _file(peer, name: str = "w.dat"):
    """A tree and the share path of a file holding CONTENT."""
    tree = peer.tree()
    handle = open_file(tree, peer.path(name), disposition=CreateDisposition.FILE_OVERWRITE_IF)
    handle.write(CONTENT, 0)
    handle.close()
    return tree, peer.share_dir / peer.folder / name


@pytest.mark.parametrize("access", [FILE_READ_DATA, FILE_READ_ATTRIBUTES | SYNCHRONIZE, GENERIC_READ])
def test_write_without_write_access_is_denied_and_changes_nothing(peer, access):
    tree, local = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    with pytest.raises(AccessDenied):
        handle.write(b"XX", 0)
    with pytest.raises(AccessDenied):
        handle.write(b"", 0)  # even nothing
    handle.close()
    assert local.read_bytes() == CONTENT


@pytest.mark.parametrize("access", [FILE_WRITE_DATA, FILE_APPEND_DATA, GENERIC_WRITE, MAXIMUM_ALLOWED])
def test_write_with_write_or_append_access_writes(peer, access):
    tree, local = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    assert handle.write(b"XX", 3) == 2
    handle.close()
    assert local.read_bytes() == b"012XX56789"


def test_a_directory_is_never_written(peer):
    folder = open_file(peer.tree(), peer.path("d"), DirectoryAccessMask.GENERIC_ALL,
                       CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE,
                       attributes=FileAttributes.FILE_ATTRIBUTE_DIRECTORY)
    with pytest.raises(AccessDenied):
        folder.write(b"x", 0)


def _create_body(name: str, access: int) -> bytes:
    raw = name.encode("utf-16-le")
    return struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, 7, 1, 0x40, 64 + 56,
                       len(raw), 0, 0) + raw


def test_the_grant_holds_inside_a_compound(wire, share):
    # smbtorture smb2.compound.related6: READ, WRITE, READ on a read-only open of one chain.
    (share / "c.dat").write_bytes(CONTENT)
    replies = wire.chain([
        Req(CREATE, _create_body("c.dat", FILE_READ_DATA)),
        Req(READ, read_body(1), related=True),
        Req(WRITE, write_body(b"X" * 64), related=True),
        Req(READ, read_body(1), related=True),
        Req(CLOSE, close_body(), related=True),
    ])
    assert [r.status for r in replies] == [0, 0, STATUS_ACCESS_DENIED, 0, 0]
    assert replies[3].read_data == b"0"
    assert (share / "c.dat").read_bytes() == CONTENT


def _status(call) -> int:
    try:
        call()
    except SMBResponseException as exc:
        return exc.status
    return 0


@pytest.mark.parametrize("access, expected", [
    (FILE_READ_DATA, STATUS_ACCESS_DENIED), (FILE_APPEND_DATA, 0), (FILE_WRITE_DATA, 0),
])
def test_flush_needs_write_access(peer, access, expected):
    tree, _ = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    assert _status(handle.flush) == expected


@pytest.mark.parametrize("access, expected", [
    (DirectoryAccessMask.FILE_LIST_DIRECTORY, STATUS_ACCESS_DENIED),
    (DirectoryAccessMask.FILE_ADD_FILE, 0), (DirectoryAccessMask.FILE_ADD_SUBDIRECTORY, 0),
])
def test_a_directory_flushes_with_add_file_or_add_subdirectory(peer, access, expected):
    tree = peer.tree()
    open_file(tree, peer.path("d"), DirectoryAccessMask.GENERIC_ALL, CreateDisposition.FILE_OPEN_IF,
              CreateOptions.FILE_DIRECTORY_FILE, attributes=FileAttributes.FILE_ATTRIBUTE_DIRECTORY).close()
    folder = open_file(tree, peer.path("d"), access, CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE)
    assert _status(folder.flush) == expected


@pytest.mark.parametrize("access, size, expected", [
    (FILE_READ_DATA | FILE_WRITE_ATTRIBUTES, 4, STATUS_ACCESS_DENIED),
    (FILE_READ_DATA | FILE_WRITE_ATTRIBUTES, len(CONTENT), 0),  # no change needs no right
    (FILE_APPEND_DATA, 4, STATUS_ACCESS_DENIED),
    (FILE_WRITE_DATA, 4, 0),
])
def test_end_of_file_needs_write_data(peer, access, size, expected):
    tree, local = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    info = FileEndOfFileInformation()
    info["end_of_file"] = size
    assert _status(lambda: set_info(handle, info)) == expected
    assert local.stat().st_size == (size if expected == 0 else len(CONTENT))


@pytest.mark.parametrize("access, expected", [
    (FILE_READ_DATA | FILE_WRITE_DATA, STATUS_ACCESS_DENIED), (FILE_WRITE_ATTRIBUTES, 0),
])
def test_basic_information_needs_write_attributes(peer, access, expected):
    tree, _ = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    info = FileBasicInformation()
    info["file_attributes"] = FileAttributes.FILE_ATTRIBUTE_READONLY
    assert _status(lambda: set_info(handle, info)) == expected


def _rename(handle, new_name: str) -> int:
    rename = FileRenameInformation()
    rename["file_name"] = new_name
    return _status(lambda: set_info(handle, rename))


@pytest.mark.parametrize("access, expected", [
    (FILE_READ_DATA | FILE_WRITE_DATA, STATUS_ACCESS_DENIED), (DELETE, 0), (FILE_WRITE_ATTRIBUTES, 0),
])
def test_a_file_is_renamed_with_delete_or_write_attributes(peer, access, expected):
    tree, local = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    assert _rename(handle, peer.path("moved.dat")) == expected
    assert local.exists() == bool(expected)


def test_a_directory_is_renamed_with_neither(peer):
    tree = peer.tree()
    open_file(tree, peer.path("d"), DirectoryAccessMask.GENERIC_ALL, CreateDisposition.FILE_OPEN_IF,
              CreateOptions.FILE_DIRECTORY_FILE, attributes=FileAttributes.FILE_ATTRIBUTE_DIRECTORY).close()
    folder = open_file(tree, peer.path("d"), DirectoryAccessMask.FILE_LIST_DIRECTORY, CreateDisposition.FILE_OPEN,
                       CreateOptions.FILE_DIRECTORY_FILE)
    assert _rename(folder, peer.path("e")) == 0


def _dispose(handle, delete: bool) -> int:
    disposition = FileDispositionInformation()
    disposition["delete_pending"] = delete
    return _status(lambda: set_info(handle, disposition))


@pytest.mark.parametrize("access, expected", [
    (FILE_READ_DATA | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, STATUS_ACCESS_DENIED), (DELETE, 0),
])
def test_a_delete_pending_needs_delete_access(peer, access, expected):
    tree, local = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    assert _dispose(handle, False) == 0  # taking it back needs nothing
    assert _dispose(handle, True) == expected
    handle.close()
    assert local.exists() == bool(expected)


def test_a_file_held_without_share_delete_is_still_renamed_through_write_attributes(peer):
    # smbd's can_rename takes FILE_WRITE_ATTRIBUTES, which no share mode governs, for DELETE.
    tree, local = _file(peer)
    holder = open_file(tree, peer.path("w.dat"), FILE_READ_DATA, CreateDisposition.FILE_OPEN,
                       share=ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE)
    other = open_file(peer.tree(), peer.path("w.dat"), FILE_WRITE_ATTRIBUTES, CreateDisposition.FILE_OPEN)
    assert _rename(other, peer.path("moved.dat")) == 0
    assert not local.exists()
    holder.close()


class FileAllocationInformation(Structure):
    """MS-FSCC 2.4.4, which smbprotocol does not define."""

    INFO_TYPE, INFO_CLASS = InfoType.SMB2_0_INFO_FILE, 19

    def __init__(self) -> None:
        self.fields = OrderedDict([("allocation_size", IntField(size=8))])
        super().__init__()


@pytest.mark.parametrize("access, expected", [
    (FILE_READ_DATA | FILE_WRITE_ATTRIBUTES | FILE_APPEND_DATA, STATUS_ACCESS_DENIED), (FILE_WRITE_DATA, 0),
])
def test_allocation_size_needs_write_data(peer, access, expected):
    tree, _ = _file(peer)
    handle = open_file(tree, peer.path("w.dat"), access, CreateDisposition.FILE_OPEN)
    info = FileAllocationInformation()
    info["allocation_size"] = 4096
    assert _status(lambda: set_info(handle, info)) == expected
