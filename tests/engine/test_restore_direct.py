"""Big files are restored O_DIRECT through aligned buffers, from a thread of their own; what
lands is what the page cache would give (bytes, modes, times), and a write that fails still ends
the restore in one line with nothing left behind.

The buffer and the size from which a file goes direct are made small here, so that small
backups cross every boundary: file data starting anywhere in a chunk, tails shorter than a
block, files of whole buffers.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine import direct_write, restore
from ibs.engine.backup_reader import BackupReader
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.direct_write import ALIGN
from ibs.engine.errors import IbsError
from ibs.engine.restore import restore_roles
from ibs.engine.share import LocalShare
from ibs.engine.source import DirectorySource
from tests.engine.conftest import T0, tree_snapshot

BUFFER = 2 * ALIGN


@pytest.fixture
def small_buffers(monkeypatch):
    """Every non-empty file goes direct, through buffers of two blocks; returns the files that
    did (their descriptors' O_DIRECT flag, seen as each started)."""
    monkeypatch.setattr(direct_write, "BUFFER", BUFFER)
    monkeypatch.setattr(restore, "DIRECT_MIN", 1)
    started: list[bool] = []
    real = direct_write.DirectWriter.start

    def start(self, fd):
        got = real(self, fd)
        started.append(got is not None and bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT))
        return got

    monkeypatch.setattr(direct_write.DirectWriter, "start", start)
    return started


def _backup(root: Path, files: dict[str, bytes], cert_pair) -> tuple[BackupReader, dict]:
    src = root / "src"
    src.mkdir()
    for i, (name, data) in enumerate(files.items()):
        (src / name).write_bytes(data)
        os.chmod(src / name, 0o640 + i % 2)
        os.utime(src / name, ns=(10**18 + i, 10**18 + i))
    share = root / "share"
    share.mkdir()
    backup_id = uuid.uuid4()
    writer = BackupWriter(LocalShare(share), load_certificate(cert_pair.cer), backup_id, T0,
                          {"R": DirectorySource(src)}, chunk_size=4096, threads=False)
    for _ in writer.steps():
        pass
    assert [o.error for o in writer.outcomes] == [None]
    reader = BackupReader(LocalShare(share), backup_id)
    reader.unlock(cert_pair.key)
    return reader, tree_snapshot(src)


_BOUNDARY = st.sampled_from([ALIGN - 1, ALIGN, ALIGN + 1, BUFFER - 1, BUFFER, BUFFER + 1,
                             3 * BUFFER, 3 * BUFFER + 17])
_SIZES = st.lists(st.one_of(_BOUNDARY, st.integers(1, 5 * BUFFER)), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=_SIZES, threads=st.booleans(), seed=st.integers(0, 255))
def test_files_written_direct_are_restored_exactly(small_buffers, cert_pair, sizes, threads,
                                                   seed):
    files = {f"f{i}": bytes((seed + i + k) % 251 for k in range(n)) for i, n in enumerate(sizes)}
    with tempfile.TemporaryDirectory() as tmp:
        reader, expected = _backup(Path(tmp), files, cert_pair)
        small_buffers.clear()
        restore_roles(reader, ["R"], f"{tmp}/out", threads=threads)
        assert tree_snapshot(Path(tmp) / "out" / "R") == expected
    assert small_buffers == [True] * len(sizes)  # the direct path is what was tested


def _pwrite_where_direct(monkeypatch, fake) -> list[int]:
    """``os.pwrite`` runs ``fake(real, fd, data, offset)`` while ``fd`` is O_DIRECT; returns the
    list of lengths it was called with."""
    real = os.pwrite
    calls: list[int] = []

    def pwrite(fd, data, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            calls.append(len(data))
            return fake(real, fd, data, offset)
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return calls


def _files() -> dict[str, bytes]:
    return {"a": os.urandom(3 * BUFFER + 100), "b": os.urandom(BUFFER)}


def test_a_file_system_refusing_direct_writes_gets_them_through_the_page_cache(
        small_buffers, cert_pair, tmp_path, monkeypatch):
    reader, expected = _backup(tmp_path, _files(), cert_pair)

    def refuse(real, fd, data, offset):
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    refused = _pwrite_where_direct(monkeypatch, refuse)
    restore_roles(reader, ["R"], str(tmp_path / "out"))
    assert tree_snapshot(tmp_path / "out" / "R") == expected
    assert len(refused) == 2  # each file tried direct once, then went buffered


def test_a_short_direct_write_is_finished_through_the_page_cache(small_buffers, cert_pair,
                                                                 tmp_path, monkeypatch):
    reader, expected = _backup(tmp_path, _files(), cert_pair)

    def short(real, fd, data, offset):
        # What a direct write cut short looks like: some bytes, not a whole number of blocks.
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
        try:
            return real(fd, memoryview(data)[:len(data) - 100], offset)
        finally:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)

    calls = _pwrite_where_direct(monkeypatch, short)
    restore_roles(reader, ["R"], str(tmp_path / "out"))
    assert tree_snapshot(tmp_path / "out" / "R") == expected
    assert calls  # the short write happened


@pytest.mark.parametrize("threads", [True, False])
def test_a_direct_write_that_fails_names_the_file_and_leaves_nothing(
        small_buffers, cert_pair, tmp_path, monkeypatch, threads):
    reader, _expected = _backup(tmp_path, _files(), cert_pair)
    target = tmp_path / "out"
    target.mkdir()
    seen: list[int] = []

    def full(real, fd, data, offset):
        seen.append(offset)
        if offset >= BUFFER:  # the disk fills after the first buffer of the first file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data, offset)

    _pwrite_where_direct(monkeypatch, full)
    with pytest.raises(IbsError) as caught:
        restore_roles(reader, ["R"], str(target), threads=threads)
    message = str(caught.value)
    assert f"{target}/R/a" in message and "no space left" in message
    assert "\n" not in message and ".ibs-restore" not in message
    assert os.listdir(target) == []


def test_a_big_file_goes_direct_with_the_real_sizes(cert_pair, tmp_path, monkeypatch):
    """The sizes as shipped, not made small: a file just over ``DIRECT_MIN`` whose data starts
    mid-chunk and ends mid-block."""
    size = direct_write.DIRECT_MIN + direct_write.BUFFER // 3 + 1
    reader, expected = _backup(tmp_path, {"big": os.urandom(size), "small": b"s"}, cert_pair)
    opened: list[bool] = []
    real = direct_write.DirectWriter.start
    monkeypatch.setattr(direct_write.DirectWriter, "start",
                        lambda self, fd: opened.append(True) or real(self, fd))
    restore_roles(reader, ["R"], str(tmp_path / "out"))
    assert tree_snapshot(tmp_path / "out" / "R") == expected
    assert opened == [True]  # the big file only


@pytest.mark.parametrize("threads", [True, False])
def test_a_tampered_big_file_is_refused_with_nothing_left(small_buffers, cert_pair, tmp_path,
                                                          threads):
    """The records after the first buffers of a direct file fail to open: the writes in flight
    are waited for, and the staging folder goes."""
    from ibs.engine.errors import IntegrityError

    reader, _expected = _backup(tmp_path, _files(), cert_pair)
    data_file = max((p for p in (tmp_path / "share").rglob("*") if p.is_file()),
                    key=lambda p: p.stat().st_size)
    raw = bytearray(data_file.read_bytes())
    raw[len(raw) * 2 // 3] ^= 1
    data_file.write_bytes(bytes(raw))
    target = tmp_path / "out"
    with pytest.raises(IntegrityError):
        restore_roles(reader, ["R"], str(target), threads=threads)
    assert os.listdir(target) == []
