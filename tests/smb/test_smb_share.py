"""Every Share operation of SmbShare against a real Samba on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibs.engine.errors import BadInput, GeneralFaultError, PathFaultError
from ibs.engine.share.smb import SmbShare
from ibs.fake_smb.samba import SambaServer
from tests.smb.conftest import PASSWORD, USER

pytestmark = pytest.mark.samba


@pytest.fixture
def base(share_dir: Path) -> Iterator[Path]:
    root = share_dir / "base"
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    yield root


@pytest.fixture
def share(samba: SambaServer, base: Path) -> Iterator[SmbShare]:
    with SmbShare(samba.unc + "\\base", USER, PASSWORD, port=samba.port) as s:
        yield s


def test_connect_negotiates_311_with_encryption(share: SmbShare) -> None:
    assert share.dialect == 0x0311
    assert share.transfer_encrypted is True
    assert share.describe() == r"\\127.0.0.1\backup\base"
    assert PASSWORD not in repr(share)


def test_listdir_stat_makedirs(share: SmbShare, base: Path) -> None:
    assert share.listdir("") == []
    assert share.stat("") is not None and share.stat("").is_dir
    assert share.stat("missing") is None
    assert share.stat("missing/deeper") is None
    share.makedirs("MASBackup/one/two")
    share.makedirs("MASBackup/one/two")  # again: no error
    assert (base / "MASBackup" / "one" / "two").is_dir()
    (base / "MASBackup" / "b.txt").write_bytes(b"12345")
    assert share.listdir("MASBackup") == ["b.txt", "one"]
    st = share.stat("MASBackup/b.txt")
    assert st is not None and st.size == 5 and not st.is_dir
    with pytest.raises(PathFaultError, match="missing"):
        share.listdir("missing")
    with pytest.raises(BadInput):
        share.stat("../etc")


def test_create_writes_and_truncates(share: SmbShare, base: Path) -> None:
    share.write_bytes("f.bin", b"x" * 100_000)
    with share.create("f.bin") as f:  # overwrite truncates
        assert f.write(b"short") == 5
    assert (base / "f.bin").read_bytes() == b"short"
    assert share.stat("f.bin").size == 5
    share.write_bytes("empty", b"")
    assert (base / "empty").read_bytes() == b""


def test_large_file_round_trip_in_chunks(share: SmbShare, base: Path) -> None:
    data = os.urandom(13 * 1024 * 1024 + 12345)  # spans several 4 MiB requests
    with share.create("big.bin") as f:
        f.write(data[:5])
        f.write(memoryview(data)[5:])
    assert (base / "big.bin").read_bytes() == data
    assert share.read_bytes("big.bin") == data
    with share.open("big.bin") as f:
        assert f.read(10) == data[:10]
        buf = bytearray(5 * 1024 * 1024)
        assert f.readinto(buf) == len(buf)
        assert bytes(buf) == data[10 : 10 + len(buf)]
        rest = f.read()
        assert rest == data[10 + len(buf) :]
        assert f.read(10) == b""
        assert f.readinto(bytearray(4)) == 0
        assert f.seek(-3, os.SEEK_END) == len(data) - 3
        assert f.read() == data[-3:]
        assert f.seek(7) == 7 and f.read(2) == data[7:9] and f.tell() == 9


def test_open_missing_is_path_fault(share: SmbShare) -> None:
    with pytest.raises(PathFaultError, match="nope"):
        share.open("nope")


def test_rename_file_and_folder(share: SmbShare, base: Path) -> None:
    share.makedirs("tmp/inner")
    share.write_bytes("tmp/inner/a", b"A")
    share.rename("tmp/inner/a", "tmp/b")
    assert (base / "tmp" / "b").read_bytes() == b"A"
    share.rename("tmp", "done")  # a folder, with content
    assert share.listdir("done") == ["b", "inner"]
    share.write_bytes("other", b"O")
    with pytest.raises(GeneralFaultError, match="destination exists"):
        share.rename("other", "done/b")
    with pytest.raises(GeneralFaultError, match="destination exists"):
        share.rename("other", "done")
    assert (base / "done" / "b").read_bytes() == b"A"
    with pytest.raises(PathFaultError):
        share.rename("ghost", "ghost2")


def test_remove_and_rmtree(share: SmbShare, base: Path) -> None:
    share.makedirs("t/a/b")
    share.write_bytes("t/a/b/f", b"1")
    share.write_bytes("t/g", b"2")
    share.remove("t/g")
    share.remove("t/g")  # already gone: no error
    assert not (base / "t" / "g").exists()
    share.rmtree("t")
    assert not (base / "t").exists()
    share.rmtree("t")  # already gone: no error


def test_space(share: SmbShare, base: Path) -> None:
    total, free = share.total_space(), share.free_space()
    st = os.statvfs(base)
    assert 0 < free <= total
    assert abs(total - st.f_blocks * st.f_frsize) <= total // 100


def test_close_twice_and_reconnect(samba: SambaServer, base: Path) -> None:
    s = SmbShare(samba.unc + "\\base", USER, PASSWORD, port=samba.port)
    s.connect()
    s.close()
    s.close()
    with s:
        assert s.listdir("") == []


def test_share_root_without_folder(samba: SambaServer, base: Path) -> None:
    with SmbShare(samba.unc, USER, PASSWORD, port=samba.port) as s:
        assert "base" in s.listdir("")
        s.write_bytes("base/x", b"1")
    assert (base / "x").read_bytes() == b"1"


def test_non_unc_path_is_bad_input() -> None:
    with pytest.raises(BadInput, match="malformed UNC path"):
        SmbShare("/mnt/backup", USER, PASSWORD)
