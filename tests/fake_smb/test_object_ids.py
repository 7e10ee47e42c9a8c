"""FSCTL_CREATE_OR_GET_OBJECT_ID: one stable 16-byte id per file, in the 64-byte
FILE_OBJECTID_BUFFER smbd answers (smbtorture smb2.compound.related3 asks inside a compound).
Against fake_smb and, where Samba is at hand, smbd: the ids differ, their properties do not.
"""

from __future__ import annotations

import struct

from smbprotocol.file_info import FileRenameInformation
from smbprotocol.open import CreateDisposition, CreateOptions, DirectoryAccessMask, FileAttributes

from tests.fake_smb.raw_requests import open_file, set_info
from tests.fake_smb.test_compound import CLOSE, CREATE, Req, close_body, create_body, wire
from tests.fake_smb.test_copy_chunk import ioctl
from tests.fake_smb.test_create_checks import peer

__all__ = ["peer", "wire"]  # fixtures

CREATE_OR_GET_OBJECT_ID = 0x000900C0
FILE_READ_ATTRIBUTES = 0x80
IOCTL = 0xB


def object_buffer(handle, max_output: int = 64) -> bytes:
    status, out = ioctl(handle, CREATE_OR_GET_OBJECT_ID, max_output=max_output)
    assert status == 0, hex(status)
    return out


def test_the_buffer_names_the_file_as_its_own_birth_object(peer):
    out = object_buffer(open_file(peer.tree(), peer.path("a.dat")))
    assert len(out) == 64
    object_id, birth_volume, birth_object, domain = out[:16], out[16:32], out[32:48], out[48:]
    assert object_id == birth_object and object_id != bytes(16)
    assert birth_volume != bytes(16) and domain == bytes(16)


def test_one_file_one_id_from_every_open_and_after_a_rename(peer):
    tree = peer.tree()
    first = object_buffer(open_file(tree, peer.path("a.dat")))[:16]
    other_open = open_file(peer.tree(), peer.path("a.dat"), FILE_READ_ATTRIBUTES, CreateDisposition.FILE_OPEN)
    assert object_buffer(other_open)[:16] == first  # another connection, hardly any access
    other_open.close()
    renamed = open_file(tree, peer.path("a.dat"), disposition=CreateDisposition.FILE_OPEN)
    rename = FileRenameInformation()
    rename["file_name"] = peer.path("b.dat")
    set_info(renamed, rename)
    assert object_buffer(renamed)[:16] == first


def test_files_differ_and_share_their_volume(peer):
    tree = peer.tree()
    a = object_buffer(open_file(tree, peer.path("a.dat")))
    b = object_buffer(open_file(tree, peer.path("b.dat")))
    folder = object_buffer(open_file(tree, peer.path("d"), DirectoryAccessMask.GENERIC_ALL,
                                     CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE,
                                     attributes=FileAttributes.FILE_ATTRIBUTE_DIRECTORY))
    assert len({a[:16], b[:16], folder[:16]}) == 3
    assert a[16:32] == b[16:32] == folder[16:32]


def test_a_short_output_buffer_gets_the_start_of_it(peer):
    handle = open_file(peer.tree(), peer.path("a.dat"))
    assert object_buffer(handle, max_output=16) == object_buffer(handle)[:16]


def test_inside_a_compound_the_chains_open_is_asked(wire, share):
    # smbtorture smb2.compound.related3: CREATE, IOCTL and CLOSE on the all-0xFF FileId.
    ioctl_body = struct.pack("<HHI16sIIIIIIII", 57, 0, CREATE_OR_GET_OBJECT_ID, b"\xff" * 16,
                             0, 0, 0, 0, 0, 64, 1, 0)
    replies = wire.chain([Req(CREATE, create_body("r3.dat")), Req(IOCTL, ioctl_body, related=True),
                          Req(CLOSE, close_body(), related=True)])
    assert [r.status for r in replies] == [0, 0, 0]
    offset, count = struct.unpack_from("<II", replies[1].body, 32)
    out = replies[1].body[offset - 64:offset - 64 + count]
    inode = (share / "r3.dat").stat().st_ino
    assert len(out) == 64 and struct.unpack_from("<Q", out, 8)[0] == inode
