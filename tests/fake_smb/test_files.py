"""Every file operation the backup engine needs, through smbclient."""

from __future__ import annotations

import os

import pytest
from smbprotocol.exceptions import DiskFull, ObjectNameCollision, SMBOSError
from smbprotocol.open import (
    CreateAction,
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)

MiB = 1024 * 1024


def test_mkdir_listdir_stat(smb, share):
    smb.mkdir(smb.path("a"))
    smb.mkdir(smb.path("a/b"))
    (share / "a" / "f.txt").write_bytes(b"12345")
    assert sorted(smb.listdir(smb.path("a"))) == ["b", "f.txt"]
    assert smb.stat(smb.path("a/f.txt")).st_size == 5
    assert smb.path
    import stat

    assert stat.S_ISDIR(smb.stat(smb.path("a/b")).st_mode)


def test_missing_file_is_object_name_not_found(smb):
    with pytest.raises(SMBOSError) as err:
        smb.stat(smb.path("nope.txt"))
    assert err.value.ntstatus == 0xC0000034  # STATUS_OBJECT_NAME_NOT_FOUND


def test_missing_parent_is_object_path_not_found(smb):
    with pytest.raises(SMBOSError) as err:
        smb.stat(smb.path("no/such/file.txt"))
    assert err.value.ntstatus == 0xC000003A


def test_mib_sized_write_and_read(smb, share):
    data = os.urandom(9 * MiB + 123)
    with smb.open_file(smb.path("big.bin"), "wb") as fh:
        fh.write(data)
    assert (share / "big.bin").read_bytes() == data
    with smb.open_file(smb.path("big.bin"), "rb") as fh:
        assert fh.read() == data


def test_overwrite_truncates(smb, share):
    (share / "f.txt").write_bytes(b"x" * 1000)
    with smb.open_file(smb.path("f.txt"), "wb") as fh:
        fh.write(b"short")
    assert (share / "f.txt").read_bytes() == b"short"


def test_truncate_via_end_of_file(smb, share):
    (share / "f.txt").write_bytes(b"0123456789")
    with smb.open_file(smb.path("f.txt"), "r+b") as fh:
        fh.truncate(4)
    assert (share / "f.txt").read_bytes() == b"0123"
    with smb.open_file(smb.path("f.txt"), "r+b") as fh:
        fh.truncate(8)
    assert (share / "f.txt").read_bytes() == b"0123\0\0\0\0"


def test_write_past_end_of_file(clients, share):
    client = clients.login()
    fh = _open(client.tree, "gap.bin", CreateDisposition.FILE_OVERWRITE_IF)
    fh.write(b"head", 0)
    fh.write(b"tail", 1 * MiB)
    fh.close()
    data = (share / "gap.bin").read_bytes()
    assert len(data) == MiB + 4 and data[:4] == b"head" and data[-4:] == b"tail"
    assert data[4:MiB] == b"\0" * (MiB - 4)


def _open(tree, name, disposition, options=CreateOptions.FILE_NON_DIRECTORY_FILE):
    fh = Open(tree, name)
    fh.create(ImpersonationLevel.Impersonation, FilePipePrinterAccessMask.GENERIC_ALL, 0,
              ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
              disposition, options)
    return fh


def test_create_action_is_reported_correctly(clients, share):
    tree = clients.login().tree
    cases = [
        (CreateDisposition.FILE_CREATE, CreateAction.FILE_CREATED),
        (CreateDisposition.FILE_OPEN, CreateAction.FILE_OPENED),
        (CreateDisposition.FILE_OPEN_IF, CreateAction.FILE_OPENED),
        (CreateDisposition.FILE_OVERWRITE, CreateAction.FILE_OVERWRITTEN),
        (CreateDisposition.FILE_OVERWRITE_IF, CreateAction.FILE_OVERWRITTEN),
        (CreateDisposition.FILE_SUPERSEDE, CreateAction.FILE_SUPERSEDED),
    ]
    for disposition, action in cases:
        fh = _open(tree, "c.txt", disposition)
        assert fh.create_action == action, disposition
        fh.close()
    fh = _open(tree, "new.txt", CreateDisposition.FILE_OPEN_IF)
    assert fh.create_action == CreateAction.FILE_CREATED
    fh.close()
    with pytest.raises(ObjectNameCollision):
        _open(tree, "c.txt", CreateDisposition.FILE_CREATE)


def test_rename_file_and_directory(smb, share):
    smb.makedirs(smb.path("d1/sub"))
    (share / "d1" / "sub" / "x.txt").write_bytes(b"x")
    smb.rename(smb.path("d1/sub/x.txt"), smb.path("d1/y.txt"))
    smb.rename(smb.path("d1"), smb.path("d2"))
    assert sorted(os.listdir(share)) == ["d2"]
    assert sorted(os.listdir(share / "d2")) == ["sub", "y.txt"]
    smb.replace(smb.path("d2/y.txt"), smb.path("d2/sub/z.txt"))
    assert os.listdir(share / "d2" / "sub") == ["z.txt"]


def test_rename_onto_existing_file(smb, share):
    (share / "a").write_bytes(b"a")
    (share / "b").write_bytes(b"b")
    with pytest.raises(SMBOSError):
        smb.rename(smb.path("a"), smb.path("b"))
    smb.replace(smb.path("a"), smb.path("b"))
    assert os.listdir(share) == ["b"] and (share / "b").read_bytes() == b"a"


def test_delete_file_and_empty_dir(smb, share):
    (share / "f").write_bytes(b"1")
    (share / "d").mkdir()
    smb.remove(smb.path("f"))
    smb.rmdir(smb.path("d"))
    assert os.listdir(share) == []


def test_non_empty_dir_is_not_deleted(smb, share):
    (share / "d").mkdir()
    (share / "d" / "keep").write_bytes(b"1")
    with pytest.raises(SMBOSError) as err:
        smb.rmdir(smb.path("d"))
    assert err.value.ntstatus == 0xC0000101  # STATUS_DIRECTORY_NOT_EMPTY
    assert (share / "d" / "keep").exists()


def test_delete_tree(smb, share):
    import smbclient.shutil as smbshutil

    for rel in ("t/a/b", "t/c"):
        (share / rel).mkdir(parents=True)
    (share / "t/a/b/f1").write_bytes(b"1")
    (share / "t/c/f2").write_bytes(b"2")
    smbshutil.rmtree(smb.path("t"), connection_cache=smb.cache, port=smb.port)
    assert os.listdir(share) == []


def test_free_space_is_reported(smb, share):
    vol = smb.stat_volume(smb.path())
    st = os.statvfs(share)
    assert vol.total_size > 0
    assert abs(vol.caller_available_size - st.f_bavail * st.f_frsize) < 64 * MiB


def test_quota_limits_writes_and_free_space(server, smb, share):
    server.quota_bytes = 2 * MiB
    vol = smb.stat_volume(smb.path())
    assert vol.total_size == 2 * MiB and vol.caller_available_size == 2 * MiB
    with smb.open_file(smb.path("a.bin"), "wb") as fh:
        fh.write(b"x" * MiB)
    assert smb.stat_volume(smb.path()).caller_available_size == MiB
    with pytest.raises(DiskFull), smb.open_file(smb.path("b.bin"), "wb") as fh:  # DISK_FULL
        fh.write(b"y" * (MiB + 1))
    server.quota_bytes = None
    with smb.open_file(smb.path("b.bin"), "wb") as fh:
        fh.write(b"y" * (MiB + 1))


def test_path_escape_is_refused(smb):
    with pytest.raises(SMBOSError):
        smb.stat(smb.path("../outside"))
