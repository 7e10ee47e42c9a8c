"""The access an open was granted binds what it may do: WRITE needs FILE_WRITE_DATA or
FILE_APPEND_DATA, alone or in a compound (smbtorture smb2.compound.related6), and a
directory is never written.  Against fake_smb and, where Samba is at hand, smbd.
"""

from __future__ import annotations

import struct

import pytest
from smbprotocol.exceptions import AccessDenied
from smbprotocol.open import CreateDisposition, CreateOptions, DirectoryAccessMask, FileAttributes

from tests.fake_smb.raw_requests import open_file
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
FILE_READ_ATTRIBUTES, SYNCHRONIZE = 0x80, 0x100000
GENERIC_READ, GENERIC_WRITE, MAXIMUM_ALLOWED = 0x80000000, 0x40000000, 0x02000000
STATUS_ACCESS_DENIED = 0xC0000022
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
