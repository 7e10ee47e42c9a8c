"""Share modes and names: what a second CREATE, a rename and an odd name are answered.

Each test runs against fake_smb and, where Samba is at hand (marked ``samba``), against a
real smbd as well, so that fake_smb is held to the peer it stands in for
(MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2 share access check).  Opens come from two separate
connections: share modes hold across connections, not only within one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.file_info import FileRenameInformation
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FileAttributes,
    FilePipePrinterAccessMask,
    Open,
    ShareAccess,
)
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import PASSWORD, USER  # the shared samba_peer knows these
from tests.fake_smb.peers import Peer, peers
from tests.fake_smb.raw_requests import open_file, set_info

STATUS_SHARING_VIOLATION = 0xC0000043
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_INVALID = 0xC0000033

READ = FilePipePrinterAccessMask.FILE_READ_DATA
WRITE = FilePipePrinterAccessMask.FILE_WRITE_DATA
DELETE = FilePipePrinterAccessMask.DELETE
ATTRS = FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
SYNC = FilePipePrinterAccessMask.SYNCHRONIZE
SHARE_R, SHARE_W, SHARE_D = ShareAccess.FILE_SHARE_READ, ShareAccess.FILE_SHARE_WRITE, ShareAccess.FILE_SHARE_DELETE
SHARE_ALL = SHARE_R | SHARE_W | SHARE_D


@pytest.fixture(params=["fake", pytest.param("samba", marks=pytest.mark.samba)])
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Peer]:
    yield from peers(request.param, request, tmp_path)


def _open(tree: TreeConnect, path: str, access: int, share: int,
          disposition: int = CreateDisposition.FILE_OPEN_IF,
          options: int = CreateOptions.FILE_NON_DIRECTORY_FILE) -> Open:
    attrs = FileAttributes.FILE_ATTRIBUTE_DIRECTORY if options & CreateOptions.FILE_DIRECTORY_FILE \
        else FileAttributes.FILE_ATTRIBUTE_NORMAL
    return open_file(tree, path, access, disposition, options, share, attrs)


def _status(excinfo: pytest.ExceptionInfo[SMBResponseException]) -> int:
    return excinfo.value.status


def _rename(handle: Open, target: str) -> None:
    """SET_INFO FileRenameInformation (MS-FSCC 2.4.37.2): the new name is from the share root."""
    info = FileRenameInformation()
    info["replace_if_exists"] = False
    info["file_name"] = target
    set_info(handle, info)


# -- share access at CREATE ------------------------------------------------------------------

def test_an_exclusive_open_refuses_a_second_open_from_another_connection(peer: Peer) -> None:
    first = _open(peer.tree(), peer.path("x.dat"), READ | WRITE | SYNC, share=0)
    with pytest.raises(SMBResponseException) as excinfo:
        _open(peer.tree(), peer.path("x.dat"), READ | SYNC, SHARE_ALL)
    assert _status(excinfo) == STATUS_SHARING_VIOLATION
    first.close()
    _open(peer.tree(), peer.path("x.dat"), READ | SYNC, SHARE_ALL).close()  # free again once closed


@pytest.mark.parametrize(("held_access", "held_share", "access", "share", "refused"), [
    (READ, SHARE_R, READ, SHARE_R, False),  # readers sharing read
    (READ, SHARE_R, WRITE, SHARE_ALL, True),  # the first open does not share write
    (WRITE, SHARE_ALL, READ, SHARE_R, True),  # the second open does not share with a writer
    (READ, SHARE_R | SHARE_W, DELETE, SHARE_ALL, True),  # delete not shared
    (READ | DELETE, SHARE_ALL, READ, SHARE_R | SHARE_W, True),  # a deleter not shared with
    (READ, 0, ATTRS | SYNC, 0, False),  # an attributes-only open is never refused
    (ATTRS | SYNC, 0, READ | WRITE, 0, False),  # nor does it refuse others
])
def test_share_access_check(peer: Peer, held_access: int, held_share: int, access: int,
                            share: int, refused: bool) -> None:
    held = _open(peer.tree(), peer.path("x.dat"), held_access | SYNC, held_share)
    second = peer.tree()
    if refused:
        with pytest.raises(SMBResponseException) as excinfo:
            _open(second, peer.path("x.dat"), access | SYNC, share)
        assert _status(excinfo) == STATUS_SHARING_VIOLATION
    else:
        _open(second, peer.path("x.dat"), access | SYNC, share).close()
    held.close()


def test_a_refused_overwrite_leaves_the_contents(peer: Peer) -> None:
    (peer.share_dir / peer.folder / "x.dat").write_bytes(b"keep me")
    held = _open(peer.tree(), peer.path("x.dat"), READ | SYNC, SHARE_R)
    with pytest.raises(SMBResponseException) as excinfo:
        _open(peer.tree(), peer.path("x.dat"), WRITE | SYNC, SHARE_ALL, CreateDisposition.FILE_OVERWRITE_IF)
    assert _status(excinfo) == STATUS_SHARING_VIOLATION
    assert (peer.share_dir / peer.folder / "x.dat").read_bytes() == b"keep me"
    held.close()


def test_a_dropped_connection_releases_its_share_modes(peer: Peer) -> None:
    tree = peer.tree()
    _open(tree, peer.path("x.dat"), READ | WRITE | SYNC, share=0)
    tree.session.connection.disconnect(close=True)
    _open(peer.tree(), peer.path("x.dat"), READ | WRITE | SYNC, share=0).close()


# -- rename ----------------------------------------------------------------------------------

def test_rename_under_a_parent_held_with_delete_access_is_a_sharing_violation(peer: Peer) -> None:
    tree = peer.tree()
    parent = _open(tree, peer.path(""), DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.DELETE | SYNC,
                   SHARE_ALL, CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE)
    handle = _open(tree, peer.path("x.dat"), READ | WRITE | DELETE | SYNC, 0, CreateDisposition.FILE_CREATE)
    with pytest.raises(SMBResponseException) as excinfo:
        _rename(handle, peer.path("y.dat"))
    assert _status(excinfo) == STATUS_SHARING_VIOLATION
    handle.close()
    parent.close()


def test_renaming_a_directory_with_an_open_file_inside_is_denied(peer: Peer) -> None:
    tree = peer.tree()
    folder = _open(tree, peer.path("d"), DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.DELETE | SYNC,
                   0, CreateDisposition.FILE_CREATE, CreateOptions.FILE_DIRECTORY_FILE)
    # The same connection: Samba (one process per connection) only sees its own opens below.
    inner = _open(tree, peer.path("d\\x.dat"), READ | SYNC, SHARE_ALL, CreateDisposition.FILE_CREATE)
    with pytest.raises(SMBResponseException) as excinfo:
        _rename(folder, peer.path("e"))
    assert _status(excinfo) == STATUS_ACCESS_DENIED
    inner.close()
    _rename(folder, peer.path("e"))  # nothing open inside any more
    folder.close()


def test_a_file_held_without_share_delete_cannot_be_renamed_by_another_open(peer: Peer) -> None:
    held = _open(peer.tree(), peer.path("x.dat"), READ | SYNC, SHARE_R | SHARE_W)
    # A rename needs DELETE access, which the held open does not share...
    with pytest.raises(SMBResponseException) as excinfo:
        _open(peer.tree(), peer.path("x.dat"), DELETE | SYNC, SHARE_ALL)
    assert _status(excinfo) == STATUS_SHARING_VIOLATION
    # ...and an open without DELETE access may not rename.
    other = _open(peer.tree(), peer.path("x.dat"), ATTRS | SYNC, SHARE_ALL)
    with pytest.raises(SMBResponseException) as excinfo:
        _rename(other, peer.path("y.dat"))
    assert _status(excinfo) == STATUS_ACCESS_DENIED
    assert (peer.share_dir / peer.folder / "x.dat").exists()
    other.close()
    held.close()


def test_a_file_held_with_share_delete_can_be_renamed_by_another_open(peer: Peer) -> None:
    held = _open(peer.tree(), peer.path("x.dat"), READ | SYNC, SHARE_ALL)
    other = _open(peer.tree(), peer.path("x.dat"), DELETE | SYNC, SHARE_ALL)
    _rename(other, peer.path("y.dat"))
    assert (peer.share_dir / peer.folder / "y.dat").exists()
    other.close()
    held.close()


# -- names -----------------------------------------------------------------------------------

def test_a_leading_backslash_is_an_invalid_parameter(peer: Peer) -> None:
    with pytest.raises(SMBResponseException) as excinfo:
        _open(peer.tree(), "\\" + peer.path("x.dat"), READ | SYNC, SHARE_ALL)
    assert _status(excinfo) == STATUS_INVALID_PARAMETER
    assert not (peer.share_dir / peer.folder / "x.dat").exists()


def test_a_stream_name_creates_no_file_with_a_colon(peer: Peer) -> None:
    with pytest.raises(SMBResponseException) as excinfo:
        _open(peer.tree(), peer.path("x.dat:foo"), READ | WRITE | SYNC, SHARE_ALL)
    assert _status(excinfo) == STATUS_OBJECT_NAME_INVALID
    assert sorted(p.name for p in (peer.share_dir / peer.folder).iterdir()) == []


# -- the table itself (fake_smb only) -----------------------------------------------------------

def test_every_way_an_open_ends_takes_it_out_of_the_table(tmp_path: Path) -> None:
    share_dir = tmp_path / "share"
    share_dir.mkdir()
    with FakeSmbServer(share_dir, users={USER: PASSWORD}) as srv:
        peer = Peer("fake", srv.host, srv.port, srv.share_name, share_dir)
        table = srv._core.open_table
        try:
            closed = _open(peer.tree(), peer.path("a.dat"), READ | SYNC, 0)
            disconnected = peer.tree()
            _open(disconnected, peer.path("b.dat"), READ | SYNC, 0)
            logged_off = peer.tree()
            _open(logged_off, peer.path("c.dat"), READ | SYNC, 0)
            dropped = peer.tree()
            _open(dropped, peer.path("d.dat"), READ | SYNC, 0)
            assert len(table) == 4
            closed.close()
            disconnected.disconnect()  # TREE_DISCONNECT
            logged_off.session.disconnect()  # LOGOFF
            dropped.session.connection.disconnect(close=True)  # the connection's end
            for _ in range(100):  # the server notices a closed socket on its own thread
                if len(table) == 0:
                    break
                time.sleep(0.02)
            assert len(table) == 0
        finally:
            peer.close()
