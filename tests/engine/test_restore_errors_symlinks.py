"""Symlink targets no file system can hold (a NUL byte, more than 4095 bytes) are refused by
verify, and by restore before anything is written: one line, never a traceback half-way.

Such backups are crafted: a real folder cannot hold these links, so the source here is made up.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from ibs.engine.cli import app
from ibs.engine.entries import MAX_SYMLINK_TARGET, Entry, Kind
from ibs.engine.errors import IntegrityError
from ibs.engine.source import SourceItem

MTIME = 1_700_000_000 * 10**9


class CraftedSource:
    """A role holding one file and one symlink whose target is ``target``."""

    def __init__(self, target: bytes) -> None:
        self.target = target

    def total_bytes(self) -> int:
        return 5

    def items(self) -> Iterator[SourceItem]:
        yield SourceItem(Entry(Kind.DIR, b"", 0o755, MTIME, 0))
        yield SourceItem(Entry(Kind.FILE, b"a.txt", 0o644, MTIME, 5),
                         open=lambda: io.BytesIO(b"hello"))
        yield SourceItem(Entry(Kind.SYMLINK, b"link", 0o777, MTIME, len(self.target)),
                         target=self.target)


def crafted_backup(rig, target: bytes):
    ctl = rig.new_controller(source_factory=lambda role, folder: CraftedSource(target))
    ctl.configure(sources={"CA": str(rig.sources["CA"])})
    record = ctl.start_backup().run()
    assert record.status == "Succeeded"  # the writer does not judge; the reader must
    return ctl, record


BAD_TARGETS = {
    "nul": (b"etc/\x00passwd", "NUL byte"),
    "4096": (b"t" * (MAX_SYMLINK_TARGET + 1), "4096 bytes"),
    "65535": (b"t" * 65535, "65535 bytes"),
}


@pytest.mark.parametrize("case", sorted(BAD_TARGETS))
def test_verify_and_restore_refuse_the_link_in_one_line(rig, cert_pair, case):
    target, said = BAD_TARGETS[case]
    ctl, record = crafted_backup(rig, target)
    with pytest.raises(IntegrityError) as caught:
        ctl.verify(record.id, cert_pair.key)
    assert said in str(caught.value) and "symlink entry b'link'" in str(caught.value)
    assert "\n" not in str(caught.value)
    out = rig.tmp / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match=said):
        ctl.restore(record.id, cert_pair.key, str(out))
    assert os.listdir(out) == []


def test_the_longest_target_a_file_system_holds_restores(rig, cert_pair):
    target = b"d/" * (MAX_SYMLINK_TARGET // 2) + b"x"
    assert len(target) == MAX_SYMLINK_TARGET
    ctl, record = crafted_backup(rig, target)
    ctl.verify(record.id, cert_pair.key)
    ctl.restore(record.id, cert_pair.key, str(rig.tmp / "out"))
    assert os.readlink(rig.tmp / "out" / "CA" / "link") == os.fsdecode(target)


def test_the_cli_verify_exits_1_with_one_line(rig, cert_pair, capsys):
    _ctl, record = crafted_backup(rig, b"a\x00b")
    _cer, pfx, pw = cert_pair.write(rig.tmp)
    code = app.main(["--store", rig.ctl.store.root, "backup", "verify", record.id,
                     "--decryption-cert", str(pfx), "--decryption-cert-password-file", str(pw)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "NUL byte" in err and "Traceback" not in err
