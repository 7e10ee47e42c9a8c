"""Restore gives every file its mode exactly, whatever the umask or a default ACL would make of it.

Restore creates a file with its final mode where ``open`` gives exactly that mode (skipping a
chmod per file), and chmods it where the umask, a default ACL on the target, or the kernel's
handling of setuid, setgid and sticky could make it differ. These tests hold it to the result.
"""

from __future__ import annotations

import os
import struct
import uuid
from pathlib import Path

import pytest

from ibs.engine.backup_reader import BackupReader
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.restore import restore_roles
from ibs.engine.share import LocalShare
from ibs.engine.source import DirectorySource
from tests.engine.conftest import T0, tree_snapshot

ALL_MODES = range(0o10000)
FOLDER_MODES = (0o700, 0o755, 0o750, 0o777, 0o1777, 0o2775, 0o500)


@pytest.fixture(scope="module")
def backup(tmp_path_factory, cert_pair):
    """One backup of a file in every mode, 0000 to 7777, and folders in a few modes."""
    tmp = tmp_path_factory.mktemp("modes")
    src = tmp / "src"
    src.mkdir()
    for mode in ALL_MODES:
        path = src / f"f{mode:04o}"
        path.write_bytes(b"x")
        os.chmod(path, mode)
        os.utime(path, ns=(mode, mode))
    for mode in FOLDER_MODES:
        folder = src / f"d{mode:04o}"
        folder.mkdir()
        (folder / "inside").write_bytes(b"y")
        os.chmod(folder, mode)
    share_dir = tmp / "share"
    share_dir.mkdir()
    share = LocalShare(share_dir)
    backup_id = uuid.uuid4()
    writer = BackupWriter(share, load_certificate(cert_pair.cer), backup_id, T0,
                          {"Domain": DirectorySource(src)}, chunk_size=64 * 1024, threads=False)
    for _ in writer.steps():
        pass
    assert [o.error for o in writer.outcomes] == [None]
    reader = BackupReader(share, backup_id)
    reader.unlock(cert_pair.key)
    return reader, tree_snapshot(src)


def _restore(reader: BackupReader, target: Path, umask: int) -> dict[str, tuple]:
    old = os.umask(umask)
    try:
        restore_roles(reader, ["Domain"], str(target))
    finally:
        os.umask(old)
    return tree_snapshot(target / "Domain")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000, 0o777, 0o7777])
def test_every_mode_is_restored_exactly_under_any_umask(backup, tmp_path, umask):
    reader, expected = backup
    assert _restore(reader, tmp_path / "out", umask) == expected


def _default_acl(*entries: tuple[int, int]) -> bytes:
    """A POSIX ACL in the kernel's xattr form: version 2, then (tag, permissions, id)."""
    undefined = 0xFFFFFFFF
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, undefined)
                                           for tag, perm in entries)


def test_a_default_acl_on_the_target_does_not_change_the_modes(backup, tmp_path):
    """A default ACL, not the umask, masks a new file's mode: this one allows only the owner's
    read and write, so a file created as 0644 would be 0600 without its chmod."""
    reader, expected = backup
    target = tmp_path / "out"
    target.mkdir()
    user_obj, group_obj, other = 0x01, 0x04, 0x20
    try:
        os.setxattr(target, "system.posix_acl_default",
                    _default_acl((user_obj, 6), (group_obj, 0), (other, 0)))
    except OSError as exc:
        pytest.skip(f"no POSIX ACLs on {tmp_path}: {exc.strerror}")
    got = _restore(reader, target, 0o000)
    assert got == expected
