"""Extended attributes over the wire: FileFullEaInformation read and set, FileEaInformation,
the CREATE EA buffer (MS-FSCC 2.4.15, MS-SMB2 2.2.13.2.1), and FileAllInformation's EA size
and name, each expectation held to Samba as well (tests marked ``samba``).
"""

from __future__ import annotations

import os
import struct

import pytest
from smbprotocol.open import CreateDisposition

from ibs.fake_smb import eas
from ibs.fake_smb import security as sec
from tests.fake_smb.info_requests import (
    INFO_FILE,
    INFO_SECURITY,
    PEERS,
    STATUS_ACCESS_DENIED,
    STATUS_BUFFER_OVERFLOW,
    STATUS_INVALID_EA_NAME,
    STATUS_INVALID_PARAMETER,
    STATUS_NO_EAS_ON_FILE,
    STATUS_SUCCESS,
    SYNCHRONIZE,
    create_status,
    ea_context,
    open_path,
    peers,
    query,
    set_raw,
)

FULL_EA, EA_INFO, ALL_INFO = 15, 7, 18
FILE_READ_DATA, FILE_READ_EA, FILE_WRITE_EA = 0x1, 0x8, 0x10
TWO = [("EAONE", b"VALUE1"), ("SECONDEA", b"ValueTwo")]  # smbtorture's complex file has these


@pytest.fixture(params=PEERS)
def peer(request, tmp_path):
    yield from peers(request.param, request, tmp_path)


@pytest.fixture
def fake(request, tmp_path):
    yield from peers("fake", request, tmp_path)


def _eas(handle) -> list[tuple[str, bytes]]:
    status, data = query(handle, INFO_FILE, FULL_EA)
    if status == STATUS_NO_EAS_ON_FILE:
        return []
    assert status == STATUS_SUCCESS
    return eas.parse_list(data)


def test_a_create_with_an_ea_buffer_gives_the_file_its_eas(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"), contexts=[ea_context(eas.pack_list(TWO))])
    status, data = query(handle, INFO_FILE, FULL_EA)
    assert status == STATUS_SUCCESS
    assert sorted(eas.parse_list(data)) == sorted(TWO)
    # Entries 4-byte aligned, the last unpadded: FileEaInformation gives that length.
    assert len(data) == 20 + 25
    assert query(handle, INFO_FILE, EA_INFO) == (STATUS_SUCCESS, struct.pack("<I", 45))


def test_each_entry_but_the_last_is_padded_to_4_bytes(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    assert set_raw(handle, INFO_FILE, FULL_EA, eas.pack_list([("EA1", b"v"), ("B", b"xy")])) == 0
    data = query(handle, INFO_FILE, FULL_EA)[1]
    following, _flags, name_len, value_len = struct.unpack_from("<IBBH", data, 0)
    assert following == (8 + name_len + 1 + value_len + 3) // 4 * 4
    assert len(data) == following + 8 + (4 if name_len == 1 else 2) + (1 if name_len == 1 else 2)
    assert query(handle, INFO_FILE, EA_INFO) == (STATUS_SUCCESS, struct.pack("<I", len(data)))


def test_a_short_buffer_gets_what_fits(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"), contexts=[ea_context(eas.pack_list(TWO))])
    full = query(handle, INFO_FILE, FULL_EA)[1]
    assert query(handle, INFO_FILE, FULL_EA, 24) == (STATUS_BUFFER_OVERFLOW, full[:24])


def test_a_file_without_eas(peer):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    assert query(handle, INFO_FILE, FULL_EA)[0] == STATUS_NO_EAS_ON_FILE
    assert query(handle, INFO_FILE, EA_INFO) == (STATUS_SUCCESS, bytes(4))


def test_set_info_sets_matches_names_without_case_and_removes_with_an_empty_value(peer):
    handle = open_path(peer.tree(), peer.path("d"), directory=True)
    assert set_raw(handle, INFO_FILE, FULL_EA, eas.pack_list([("eaOne", b"a"), ("Other", b"o")])) == 0
    assert set_raw(handle, INFO_FILE, FULL_EA, eas.pack_list([("EAONE", b"bb")])) == 0
    assert sorted(_eas(handle)) == [("Other", b"o"), ("eaOne", b"bb")]
    assert set_raw(handle, INFO_FILE, FULL_EA, eas.pack_list([("EaOne", b""), ("other", b""), ("never", b"")])) == 0
    assert _eas(handle) == []


@pytest.mark.parametrize(("buf", "status"), [
    (b"\x00" * 9, STATUS_INVALID_PARAMETER),  # under 10 bytes
    (struct.pack("<IBBH", 0, 0, 9, 1) + b"ab\x00x", STATUS_INVALID_PARAMETER),  # name runs past the buffer
    (struct.pack("<IBBH", 0, 0, 2, 1) + b"abXx\x00\x00", STATUS_INVALID_PARAMETER),  # name not NUL-terminated
    (eas.pack_list([("ok", b"1"), ("a*b", b"x")]), STATUS_INVALID_EA_NAME),
    (eas.pack_list([("tab\there", b"x")]), STATUS_INVALID_EA_NAME),
])
def test_set_info_refuses_a_list_that_does_not_parse_or_a_bad_name(peer, buf, status):
    handle = open_path(peer.tree(), peer.path("f.txt"))
    assert set_raw(handle, INFO_FILE, FULL_EA, buf) == status
    assert _eas(handle) == []  # nothing set, not even the good names before the bad one


def test_reading_needs_read_ea_and_setting_write_ea(peer):
    tree = peer.tree()
    open_path(tree, peer.path("f.txt"), contexts=[ea_context(eas.pack_list(TWO))]).close()
    without = open_path(tree, peer.path("f.txt"), access=SYNCHRONIZE | FILE_READ_DATA)
    assert query(without, INFO_FILE, FULL_EA)[0] == STATUS_ACCESS_DENIED
    assert set_raw(without, INFO_FILE, FULL_EA, eas.pack_list([("X", b"x")])) == STATUS_ACCESS_DENIED
    assert query(without, INFO_FILE, EA_INFO)[0] == STATUS_SUCCESS  # the size needs nothing
    reader = open_path(tree, peer.path("f.txt"), access=SYNCHRONIZE | FILE_READ_EA)
    writer = open_path(tree, peer.path("f.txt"), access=SYNCHRONIZE | FILE_WRITE_EA)
    assert set_raw(writer, INFO_FILE, FULL_EA, eas.pack_list([("X", b"x")])) == STATUS_SUCCESS
    assert sorted(_eas(reader)) == sorted([*TWO, ("X", b"x")])


def test_a_create_applies_its_eas_only_to_a_file_it_creates_or_overwrites(peer):
    tree = peer.tree()
    name = peer.path("f.txt")
    open_path(tree, name, contexts=[ea_context(eas.pack_list(TWO))]).close()
    opened = open_path(tree, name, disposition=CreateDisposition.FILE_OPEN,
                       contexts=[ea_context(eas.pack_list([("THIRD", b"3")]))])
    assert sorted(_eas(opened)) == sorted(TWO)
    overwritten = open_path(tree, name, disposition=CreateDisposition.FILE_OVERWRITE_IF,
                            contexts=[ea_context(eas.pack_list([("FOURTH", b"4")]))])
    assert sorted(_eas(overwritten)) == sorted([*TWO, ("FOURTH", b"4")])


def test_a_create_refuses_a_bad_ea_buffer_before_it_creates_anything(peer):
    tree = peer.tree()
    assert create_status(tree, peer.path("bad.txt"), contexts=[ea_context(eas.pack_list([("E:A", b"v")]))]) \
        == STATUS_INVALID_EA_NAME
    assert create_status(tree, peer.path("short.txt"), contexts=[ea_context(b"\x00\x00")]) == STATUS_INVALID_PARAMETER
    assert not (peer.dir / "bad.txt").exists() and not (peer.dir / "short.txt").exists()


def test_a_create_with_eas_needs_write_ea(peer):
    status = create_status(peer.tree(), peer.path("f.txt"), access=FILE_READ_DATA,
                           contexts=[ea_context(eas.pack_list([("EA", b"v")]))])
    assert status == STATUS_ACCESS_DENIED


def _all_info(handle) -> tuple[int, str]:
    status, data = query(handle, INFO_FILE, ALL_INFO)
    assert status == STATUS_SUCCESS
    (length,) = struct.unpack_from("<I", data, 96)
    return struct.unpack_from("<I", data, 72)[0], data[100 : 100 + length].decode("utf-16le")


def test_file_all_information_names_the_path_from_the_share_and_the_ea_size(peer):
    # smbtorture smb2.oplock.batch19 looks for the path from the share in the name.
    tree = peer.tree()
    open_path(tree, peer.path("sub"), directory=True).close()
    handle = open_path(tree, peer.path("sub\\g.txt"), contexts=[ea_context(eas.pack_list(TWO))])
    assert _all_info(handle) == (45, f"\\{peer.folder}\\sub\\g.txt")
    root = open_path(tree, "", access=SYNCHRONIZE | 0x80, directory=True)
    assert _all_info(root)[1] == "\\"


def test_the_descriptor_is_no_ea_and_its_name_is_private(fake):
    handle = open_path(fake.tree(), fake.path("f.txt"))
    sd = sec.pack(sec.SecurityDescriptor(sec.SE_DACL_PRESENT, dacl=sec.make_acl([])))
    assert set_raw(handle, INFO_SECURITY, 0, sd, 0x4) == STATUS_SUCCESS
    assert sec.XATTR_NAME in os.listxattr(fake.dir / "f.txt")
    assert _eas(handle) == []
    assert set_raw(handle, INFO_FILE, FULL_EA, eas.pack_list([("fake_smb.sd", b"x")])) == STATUS_ACCESS_DENIED
