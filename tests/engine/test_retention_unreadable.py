"""Retention judges only backups it can date: a backup folder whose manifest cannot be read is
left on the share for verify to report, and the backups around it are still pruned."""

from __future__ import annotations

import uuid

import pytest

from tests.engine.test_controller import DAY, complete_backups


@pytest.mark.parametrize("manifest", [b"not json", b"", None])
def test_an_unreadable_backup_is_kept_and_the_others_still_pruned(rig, manifest):
    old = rig.ctl.start_backup().run().id
    stranger = str(uuid.UUID(int=0xABC))
    folder = rig.share / "MASBackup" / stranger
    folder.mkdir()
    if manifest is not None:
        (folder / "manifest.json").write_bytes(manifest)
    rig.clock.advance(5 * DAY)
    new = rig.new_controller().start_backup().run()
    assert new.status == "Succeeded" and new.warnings == []
    result = rig.new_controller().configure(retention_days=3)
    assert result.pruned == [str(rig.share / "MASBackup" / old)]
    assert complete_backups(rig.share) == sorted([new.id, stranger])
