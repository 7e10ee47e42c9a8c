"""DirectorySource types files by the listing (no lstat each) and describes each file by the
open file's fstat: what changes between the listing and the read must still come out right."""

from __future__ import annotations

import os
import stat

from ibs.engine.entries import Kind
from ibs.engine.source import DirectorySource


def _until_root_listed(src: DirectorySource):
    """The items generator, advanced past the role's own folder: its children are listed."""
    items = src.items()
    root = next(items)
    assert root.entry.path == b""
    return items


def test_a_file_swapped_for_a_fifo_after_the_listing_is_skipped_not_waited_on(tmp_path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "b").write_bytes(b"kept")
    src = DirectorySource(tmp_path)
    items = _until_root_listed(src)
    os.remove(tmp_path / "a")
    os.mkfifo(tmp_path / "a")  # no writer: a blocking open would wait for ever
    rest = list(items)
    assert [i.entry.path for i in rest] == [b"b"]
    with rest[0].open() as f:
        assert f.read() == b"kept"
    assert src.skipped.unreadable == [(b"a", "no longer a regular file")]


def test_a_file_rewritten_after_the_listing_is_described_as_it_is_read(tmp_path) -> None:
    (tmp_path / "a").write_bytes(b"short")
    src = DirectorySource(tmp_path)
    items = _until_root_listed(src)
    (tmp_path / "a").write_bytes(b"much longer now")
    os.chmod(tmp_path / "a", 0o640)
    (item,) = list(items)
    assert item.entry.kind is Kind.FILE
    assert item.entry.size == len(b"much longer now")
    assert item.entry.mode == 0o640
    with item.open() as f:
        assert f.read() == b"much longer now"


def test_every_kind_is_typed_as_lstat_would(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"1")
    (tmp_path / "link").symlink_to("d/f")
    (tmp_path / "dirlink").symlink_to("d")
    os.mkfifo(tmp_path / "p")
    src = DirectorySource(tmp_path)
    got = {i.entry.path: i.entry.kind for i in src.items()}
    want = {b"": Kind.DIR}
    for dirpath, dirs, files in os.walk(tmp_path):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            rel = os.fsencode(os.path.relpath(full, tmp_path))
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                want[rel] = Kind.SYMLINK
            elif stat.S_ISDIR(mode):
                want[rel] = Kind.DIR
            elif stat.S_ISREG(mode):
                want[rel] = Kind.FILE
    assert got == want
    assert src.skipped.special == [(b"p", "FIFO")]
    assert src.total_bytes() == 1
