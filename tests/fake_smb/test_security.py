"""Security descriptors over the wire: QUERY_INFO and SET_INFO with SMB2_0_INFO_SECURITY
(MS-SMB2 3.3.5.20.3, 3.3.5.21.3), held to what Samba answers where the two can agree.

Samba maps a descriptor onto POSIX ACLs and reads back its own rendering, so what a SET
stores is compared on fake_smb alone; statuses, the parts AdditionalInformation selects and
the buffer rules are compared with the module's real smbd as well (tests marked ``samba``).
"""

from __future__ import annotations

import os
import struct

import pytest

from ibs.fake_smb import security as sec
from tests.fake_smb.info_requests import (
    INFO_SECURITY,
    PEERS,
    STATUS_ACCESS_DENIED,
    STATUS_BUFFER_TOO_SMALL,
    STATUS_INVALID_OWNER,
    STATUS_INVALID_PARAMETER,
    STATUS_SUCCESS,
    SYNCHRONIZE,
    open_path,
    peers,
    query,
    set_raw,
)

OWNER, GROUP, DACL, SACL = 0x1, 0x2, 0x4, 0x8
READ_CONTROL, WRITE_DAC, WRITE_OWNER = 0x00020000, 0x00040000, 0x00080000
FILE_READ_ATTRIBUTES = 0x80


@pytest.fixture(params=PEERS)
def peer(request, tmp_path):
    yield from peers(request.param, request, tmp_path)


@pytest.fixture
def fake(request, tmp_path):
    yield from peers("fake", request, tmp_path)


def _descriptor(handle, additional=OWNER | GROUP | DACL) -> sec.SecurityDescriptor:
    status, data = query(handle, INFO_SECURITY, 0, additional=additional)
    assert status == STATUS_SUCCESS
    return sec.parse(data)


def _owner_only_dacl(owner: bytes, mask: int = 0x001E01BF) -> bytes:
    return sec.make_acl([(sec.ACCESS_ALLOWED_ACE_TYPE, 0, mask, owner)])


# ---- what a query answers ----

@pytest.mark.parametrize("additional", [0, OWNER, GROUP, DACL, OWNER | DACL, OWNER | GROUP | DACL, 0x10, 0x100])
def test_additional_information_picks_the_parts(peer, additional):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    sd = _descriptor(handle, additional)
    assert (sd.owner is not None) == bool(additional & OWNER)
    assert (sd.group is not None) == bool(additional & GROUP)
    assert (sd.dacl is not None) == bool(additional & DACL)
    assert bool(sd.control & sec.SE_DACL_PRESENT) == bool(additional & DACL)
    assert sd.sacl is None and not sd.control & sec.SE_SACL_PRESENT


def test_nothing_asked_is_the_empty_self_relative_descriptor(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    assert query(handle, INFO_SECURITY, 0, additional=0) == (STATUS_SUCCESS, struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0))


def test_a_new_file_is_owned_by_its_unix_owner_and_its_dacl_grants_the_owner(fake):
    handle = open_path(fake.tree(), fake.path("f.txt"))
    st = os.stat(fake.dir / "f.txt")
    sd = _descriptor(handle)
    assert sec.sid_to_string(sd.owner) == f"S-1-22-1-{st.st_uid}"
    assert sec.sid_to_string(sd.group) == f"S-1-22-2-{st.st_gid}"
    assert (sec.ACCESS_ALLOWED_ACE_TYPE, 0, sec.FILE_ALL_ACCESS, sd.owner) in sec.aces(sd.dacl)


@pytest.mark.parametrize("additional", [0, OWNER | GROUP | DACL])
def test_a_buffer_too_small_is_answered_with_the_size_needed(peer, additional):
    # smbtorture smb2.getinfo.qsec_buffercheck asks with 0 and 1 byte.
    handle = open_path(peer.tree(), peer.path("f.txt"))
    full = query(handle, INFO_SECURITY, 0, additional=additional)[1]
    for length in (0, 1, len(full) - 1):
        assert query(handle, INFO_SECURITY, 0, length, additional) == (STATUS_BUFFER_TOO_SMALL, struct.pack("<I", len(full)))
    assert query(handle, INFO_SECURITY, 0, len(full), additional) == (STATUS_SUCCESS, full)


def test_the_share_root_answers_too(peer):
    root = open_path(peer.tree(), "", access=SYNCHRONIZE | FILE_READ_ATTRIBUTES | READ_CONTROL, directory=True)
    assert query(root, INFO_SECURITY, 0, 1, 0) == (STATUS_BUFFER_TOO_SMALL, struct.pack("<I", 20))
    assert _descriptor(root).owner is not None


# ---- the access each part needs ----

@pytest.mark.parametrize("additional", [OWNER, GROUP, DACL])
def test_owner_group_and_dacl_need_read_control(peer, additional):
    tree = peer.tree()
    open_path(tree, peer.path("f.txt")).close()
    without = open_path(tree, peer.path("f.txt"), access=SYNCHRONIZE | FILE_READ_ATTRIBUTES)
    with_it = open_path(tree, peer.path("f.txt"), access=SYNCHRONIZE | READ_CONTROL)
    assert query(without, INFO_SECURITY, 0, additional=additional)[0] == STATUS_ACCESS_DENIED
    assert query(without, INFO_SECURITY, 0, additional=0)[0] == STATUS_SUCCESS
    assert query(with_it, INFO_SECURITY, 0, additional=additional)[0] == STATUS_SUCCESS


def test_the_sacl_needs_access_system_security(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    assert query(handle, INFO_SECURITY, 0, additional=SACL)[0] == STATUS_ACCESS_DENIED
    assert set_raw(handle, INFO_SECURITY, 0, sec.pack(sec.SecurityDescriptor(
        sec.SE_SACL_PRESENT, sacl=sec.make_acl([]))), SACL) == STATUS_ACCESS_DENIED


@pytest.mark.parametrize(("access", "additional", "status"), [
    (READ_CONTROL, DACL, STATUS_ACCESS_DENIED),
    (READ_CONTROL, OWNER, STATUS_ACCESS_DENIED),
    (READ_CONTROL | WRITE_DAC, OWNER, STATUS_ACCESS_DENIED),
    (READ_CONTROL | WRITE_DAC, DACL, STATUS_SUCCESS),
    (READ_CONTROL | WRITE_OWNER, OWNER, STATUS_SUCCESS),
    (READ_CONTROL | WRITE_OWNER, DACL, STATUS_ACCESS_DENIED),
    (READ_CONTROL, 0, STATUS_SUCCESS),  # nothing to set needs nothing
])
def test_setting_needs_write_dac_or_write_owner(peer, access, additional, status):
    tree = peer.tree()
    owner = _descriptor(open_path(tree, peer.path("f.txt"))).owner
    handle = open_path(tree, peer.path("f.txt"), access=access)
    new = sec.SecurityDescriptor(sec.SE_DACL_PRESENT, owner=owner, dacl=_owner_only_dacl(owner))
    assert set_raw(handle, INFO_SECURITY, 0, sec.pack(new), additional) == status


# ---- what a set refuses ----

def test_an_empty_descriptor_is_invalid_and_a_cut_one_too_small(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    owner = _descriptor(handle).owner
    whole = sec.pack(sec.SecurityDescriptor(sec.SE_DACL_PRESENT, owner=owner, dacl=_owner_only_dacl(owner)))
    assert set_raw(handle, INFO_SECURITY, 0, b"", DACL) == STATUS_INVALID_PARAMETER
    assert set_raw(handle, INFO_SECURITY, 0, whole[:3], DACL) == STATUS_BUFFER_TOO_SMALL
    assert set_raw(handle, INFO_SECURITY, 0, whole[:-4], OWNER | DACL) == STATUS_BUFFER_TOO_SMALL


def test_an_owner_not_the_users_own_is_refused(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    administrators = sec.sid_from_string("S-1-5-32-544")
    new = sec.pack(sec.SecurityDescriptor(owner=administrators))
    assert set_raw(handle, INFO_SECURITY, 0, new, OWNER) == STATUS_INVALID_OWNER
    # A descriptor without an owner sets no owner, whatever AdditionalInformation says.
    assert set_raw(handle, INFO_SECURITY, 0, sec.pack(sec.SecurityDescriptor()), OWNER) == STATUS_SUCCESS


# ---- what a set keeps (fake_smb: Samba answers its POSIX ACL rendering instead) ----

def test_a_dacl_set_is_what_later_opens_read(fake):
    # smbtorture smb2.delete-on-close-perms sets the folder's DACL this way.
    tree = fake.tree()
    handle = open_path(tree, fake.path("d"), access=READ_CONTROL | WRITE_DAC | WRITE_OWNER, directory=True)
    before = _descriptor(handle)
    dacl = _owner_only_dacl(before.owner)
    status = set_raw(handle, INFO_SECURITY, 0, sec.pack(sec.SecurityDescriptor(
        sec.SE_DACL_PRESENT | sec.SE_DACL_PROTECTED, owner=before.owner, dacl=dacl)), DACL | OWNER)
    assert status == STATUS_SUCCESS
    handle.close()
    after = _descriptor(open_path(tree, fake.path("d"), access=READ_CONTROL, directory=True))
    assert after.dacl == dacl and after.owner == before.owner and after.group == before.group
    assert after.control & sec.SE_DACL_PROTECTED


def test_the_descriptor_follows_the_file_through_a_rename(fake):
    from smbprotocol.file_info import FileRenameInformation

    from tests.fake_smb.raw_requests import set_info
    tree = fake.tree()
    handle = open_path(tree, fake.path("a.txt"), access=0x10000 | READ_CONTROL | WRITE_DAC)
    owner = _descriptor(handle).owner
    dacl = _owner_only_dacl(owner, 0x001F01FF)
    assert set_raw(handle, INFO_SECURITY, 0, sec.pack(sec.SecurityDescriptor(sec.SE_DACL_PRESENT, dacl=dacl)), DACL) == 0
    info = FileRenameInformation()
    info["file_name"] = fake.path("b.txt")
    set_info(handle, info)
    handle.close()
    assert _descriptor(open_path(tree, fake.path("b.txt"))).dacl == dacl
    assert _descriptor(open_path(tree, fake.path("c.txt"))).dacl != dacl  # a new file has the default


def test_generic_rights_in_a_dacl_are_kept_as_file_rights(fake):
    handle = open_path(fake.tree(), fake.path("f.txt"))
    owner = _descriptor(handle).owner
    generic = sec.make_acl([(sec.ACCESS_ALLOWED_ACE_TYPE, 0, 0x10000000, owner),  # GENERIC_ALL
                            (sec.ACCESS_ALLOWED_ACE_TYPE, 0, 0x80000000 | 0x00040000, owner)])  # GENERIC_READ|WRITE_DAC
    assert set_raw(handle, INFO_SECURITY, 0, sec.pack(sec.SecurityDescriptor(sec.SE_DACL_PRESENT, dacl=generic)), DACL) == 0
    masks = [mask for _t, _f, mask, _sid in sec.aces(_descriptor(handle).dacl)]
    assert masks == [0x001F01FF, 0x00120089 | 0x00040000]


def test_a_null_dacl_reads_back_present_and_null(fake):
    handle = open_path(fake.tree(), fake.path("f.txt"))
    assert set_raw(handle, INFO_SECURITY, 0, sec.pack(sec.SecurityDescriptor(sec.SE_DACL_PRESENT)), DACL) == 0
    sd = _descriptor(handle, DACL)
    assert sd.dacl is None and sd.control & sec.SE_DACL_PRESENT
