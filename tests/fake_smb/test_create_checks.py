"""What a CREATE is refused before anything is opened, and smbd's quota fake file
(smbtorture smb2.create.impersonation, dosattr_tmp_dir, quota-fake-file).

Each test runs against fake_smb and, where Samba is at hand (marked ``samba``), against smbd.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.file_info import FileBasicInformation
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
)

from tests.fake_smb.peers import Peer, peers
from tests.fake_smb.raw_requests import SHARE_ALL, open_file, set_info

STATUS_BAD_IMPERSONATION_LEVEL = 0xC00000A5
STATUS_INVALID_PARAMETER = 0xC000000D
TEMPORARY = FileAttributes.FILE_ATTRIBUTE_TEMPORARY
DIRECTORY = FileAttributes.FILE_ATTRIBUTE_DIRECTORY
QUOTA_FILE = "$Extend\\$Quota:$Q:$INDEX_ALLOCATION"
HIDDEN_SYSTEM_DIRECTORY_ARCHIVE = 0x02 | 0x04 | 0x10 | 0x20


@pytest.fixture(params=["fake", pytest.param("samba", marks=pytest.mark.samba)])
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Peer]:
    yield from peers(request.param, request, tmp_path)


def create_status(tree, name: str, impersonation: int = ImpersonationLevel.Impersonation,
                  options: int = CreateOptions.FILE_NON_DIRECTORY_FILE, attributes: int = 0,
                  disposition: int = CreateDisposition.FILE_CREATE,
                  access: int = FilePipePrinterAccessMask.GENERIC_ALL) -> tuple[int, Open | None]:
    """(status, open) of a CREATE with any ImpersonationLevel, which smbprotocol's enum limits."""
    handle = Open(tree, name)
    request, receive = handle.create(ImpersonationLevel.Impersonation, access, attributes, SHARE_ALL,
                                     disposition, options, send=False)
    request.fields["impersonation_level"].enum_strict = False
    request["impersonation_level"] = impersonation
    conn = tree.session.connection
    try:
        receive(conn.send(request, tree.session.session_id, tree.tree_connect_id))
    except SMBResponseException as exc:
        return exc.status, None
    return 0, handle


@pytest.mark.parametrize("level", [4, 0x12345678, 0xFFFFFFFF])
def test_an_impersonation_level_past_delegation_is_refused_and_creates_nothing(peer, level):
    status, _ = create_status(peer.tree(), peer.path("imp.txt"), impersonation=level)
    assert status == STATUS_BAD_IMPERSONATION_LEVEL
    assert not (peer.share_dir / peer.folder / "imp.txt").exists()


@pytest.mark.parametrize("level", [0, 1, 2, 3])  # Anonymous .. Delegate
def test_every_defined_impersonation_level_opens(peer, level):
    status, handle = create_status(peer.tree(), peer.path(f"imp{level}.txt"), impersonation=level)
    assert status == 0
    handle.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(level=st.integers(0, 0xFFFFFFFF))
def test_only_the_four_defined_levels_are_accepted(server, share, level):
    peer = Peer("fake", server.host, server.port, server.share_name, share)
    try:
        status, handle = create_status(peer.tree(), peer.path("any.txt"), impersonation=level,
                                       disposition=CreateDisposition.FILE_OPEN_IF)
        assert status == (0 if level <= 3 else STATUS_BAD_IMPERSONATION_LEVEL)
        if handle is not None:
            handle.close()
    finally:
        peer.close()


def test_a_temporary_directory_cannot_be_created(peer):
    status, _ = create_status(peer.tree(), peer.path("tmpdir"), options=CreateOptions.FILE_DIRECTORY_FILE,
                              attributes=DIRECTORY | TEMPORARY)
    assert status == STATUS_INVALID_PARAMETER
    assert not (peer.share_dir / peer.folder / "tmpdir").exists()


def test_a_temporary_file_can(peer):
    status, handle = create_status(peer.tree(), peer.path("tmp.txt"), attributes=TEMPORARY)
    assert status == 0
    handle.close()


def _set_attributes(handle: Open, attributes: int) -> int:
    info = FileBasicInformation()
    info["file_attributes"] = attributes
    try:
        set_info(handle, info)
    except SMBResponseException as exc:
        return exc.status
    return 0


def test_a_directory_cannot_be_made_temporary(peer):
    # smbtorture smb2.create.dosattr_tmp_dir
    tree = peer.tree()
    folder = open_file(tree, peer.path("d"), disposition=CreateDisposition.FILE_OPEN_IF,
                       options=CreateOptions.FILE_DIRECTORY_FILE, attributes=DIRECTORY)
    assert _set_attributes(folder, TEMPORARY) == STATUS_INVALID_PARAMETER
    assert _set_attributes(folder, DIRECTORY) == 0
    plain = open_file(tree, peer.path("f.txt"))
    assert _set_attributes(plain, TEMPORARY) == 0


def test_the_quota_fake_file_opens_as_smbd_fakes_it(peer):
    # smbtorture smb2.create.quota-fake-file: hidden, system, directory, archive; no times.
    status, handle = create_status(peer.tree(), QUOTA_FILE, impersonation=ImpersonationLevel.Anonymous,
                                   options=0, disposition=CreateDisposition.FILE_OPEN,
                                   attributes=FileAttributes.FILE_ATTRIBUTE_NORMAL,
                                   access=FilePipePrinterAccessMask.GENERIC_READ)
    assert status == 0
    assert handle.file_attributes == HIDDEN_SYSTEM_DIRECTORY_ARCHIVE
    times = (handle.creation_time, handle.last_access_time, handle.last_write_time, handle.change_time)
    assert [t.year if hasattr(t, "year") else t for t in times] == [1601] * 4  # FILETIME 0
    handle.close()
    assert not (peer.share_dir / "$Extend").exists()


STATUS_OBJECT_NAME_INVALID = 0xC0000033
STATUS_OBJECT_PATH_NOT_FOUND = 0xC000003A


@pytest.mark.parametrize("name, level, expected", [
    ("nodir\\x.txt", 7, STATUS_OBJECT_PATH_NOT_FOUND),  # the name is resolved first
    ("f.txt\\x.txt", 7, STATUS_OBJECT_PATH_NOT_FOUND),
    ("a:stream", 7, STATUS_OBJECT_NAME_INVALID),
    ("\\lead.txt", 7, STATUS_BAD_IMPERSONATION_LEVEL),  # then the level
    ("\\lead.txt", 2, STATUS_INVALID_PARAMETER),  # then a leading separator
    ("\\nodir\\x.txt", 2, STATUS_OBJECT_PATH_NOT_FOUND),
])
def test_what_is_refused_first(peer, name, level, expected):
    full = name if name.startswith("\\") else peer.path(name)
    status, _ = create_status(peer.tree(), full, impersonation=level)
    assert status == expected
