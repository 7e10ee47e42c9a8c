"""The free-space check before a backup writes: once a backup exists, it asks for the last
backup's stored bytes scaled by how much the sources grew, to the byte (issue 15: a check 1024x
too lenient survived every engine test)."""

from __future__ import annotations

import os

import pytest

from ibs.engine.share import LocalShare


def _share_with_free(free: int):
    class Measured(LocalShare):
        def free_space(self) -> int:
            return free
    return lambda settings, password: Measured(settings.path)


def _source_bytes(rig) -> int:
    return sum(p.stat().st_size for root in rig.sources.values() for p in root.rglob("*")
               if p.is_file())


@pytest.mark.parametrize("growth", [0, 1, 37_000])
def test_after_a_backup_the_check_asks_for_its_size_scaled_by_the_sources_growth(rig, growth):
    first = rig.ctl.start_backup().run()
    assert first.status == "Succeeded" and first.dataBytes == _source_bytes(rig)
    (rig.sources["CA"] / "grown").write_bytes(os.urandom(growth))
    data = _source_bytes(rig)
    needed = -(-first.sizeBytes * data // first.dataBytes)  # ceiling, in integers

    short = rig.new_controller(share_factory=_share_with_free(needed - 1)).start_backup().run()
    assert (short.status, short.error["category"]) == ("Failed", "ShareCapacity")
    assert "needs about" in short.error["message"] and f"({needed:,} bytes)" in short.error["message"]
    assert f"({needed - 1:,} bytes) free" in short.error["message"]

    enough = rig.new_controller(share_factory=_share_with_free(needed)).start_backup().run()
    assert enough.status == "Succeeded"


@pytest.mark.parametrize("extra", [0, 70_000])  # sources below and above the margin's size
def test_before_any_backup_the_check_asks_for_the_sources_and_a_margin(rig, extra):
    (rig.sources["ECE"] / "extra").write_bytes(os.urandom(extra))
    needed = _source_bytes(rig) + rig.ctl.space_margin
    short = rig.new_controller(share_factory=_share_with_free(needed - 1)).start_backup().run()
    assert (short.status, short.error["category"]) == ("Failed", "ShareCapacity")
    assert f"({needed:,} bytes)" in short.error["message"]
    assert rig.new_controller(share_factory=_share_with_free(needed)).start_backup().run().status \
        == "Succeeded"
