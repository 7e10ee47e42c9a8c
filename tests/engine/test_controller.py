"""The controller as an operator sees it: statuses, alerts, schedule, retention, crashes."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from ibs.engine import layout
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput, JobSlotTaken, MaintenanceInProgress
from ibs.engine.history import BackupRecord
from ibs.engine.job import Job
from ibs.engine.share import LocalShare
from ibs.engine.store import Store

HOUR = 3600
DAY = 24 * HOUR


def complete_backups(share: Path) -> list[str]:
    root = share / "MASBackup"
    return sorted(n for n in os.listdir(root) if layout.is_backup_name(n)) if root.exists() else []


def test_on_demand_backup_succeeds_with_rest_fields(rig, cert_pair):
    record = rig.ctl.start_backup().run()
    assert record.status == "Succeeded"
    assert record.encryptionCertThumbprint == cert_pair.thumbprint
    assert record.roleStatus == [{"roleName": "CA", "status": "Succeeded"},
                                 {"roleName": "ECE", "status": "Succeeded"}]
    assert record.timeTakenToCreate.startswith("PT")
    assert record.isCloudRecoveryReady
    assert complete_backups(rig.share) == [record.id]
    # History survives a restart: a new controller on the same store sees the same record.
    again = Controller(Store(rig.ctl.store.root), rig.clock).backup_record(record.id)
    assert again.to_json() == record.to_json()


def test_one_job_at_a_time_in_one_process(rig):
    job = rig.ctl.start_backup()
    with pytest.raises(JobSlotTaken):
        rig.new_controller().start_backup()
    job.run()
    assert rig.new_controller().start_backup().run().status == "Succeeded"


def test_job_advances_in_steps_and_nothing_is_visible_before_the_commit(rig):
    (rig.sources["CA"] / "big").write_bytes(os.urandom(50_000))
    job = rig.ctl.start_backup()
    assert job.record.status == "Queued"
    seen = []
    for progress in job.steps():
        assert job.record.status == "Running"
        assert complete_backups(rig.share) == []  # nothing visible until the commit
        seen.append(progress.done_bytes)
    assert len(seen) > 10 and seen == sorted(seen)
    assert job.record.status == "Succeeded"
    assert complete_backups(rig.share) == [job.record.id]


def test_share_capacity_check_fails_before_writing_and_raises_alert(rig):
    class Tiny(LocalShare):
        def free_space(self) -> int:
            return 1000

    ctl = rig.new_controller(share_factory=lambda s, p: Tiny(s.path))
    record = ctl.start_backup().run()
    assert record.status == "Failed"
    assert record.error["category"] == "ShareCapacity"
    assert [a.category for a in ctl.alert_book().active()] == ["ShareCapacity"]
    assert complete_backups(rig.share) == [] and not (rig.share / "MASBackup").exists()
    # The fault goes away: the next backup succeeds and clears the alert.
    assert rig.ctl.start_backup().run().status == "Succeeded"
    assert rig.ctl.alert_book().active() == []
    assert rig.ctl.alert_book().alerts[0].clearedDateTime is not None


def test_missing_share_folder_is_path_fault(rig):
    os.rename(rig.share, rig.tmp / "moved")
    record = rig.ctl.start_backup().run()
    assert (record.status, record.error["category"]) == ("Failed", "PathFault")
    alert = rig.ctl.alert_book().active()[0]
    assert alert.category == "PathFault" and "\\\\host\\share" in alert.remediation


def test_a_role_that_cannot_be_read_gives_partial_succeeded(rig):
    ctl = rig.new_controller()
    os.rename(rig.sources["ECE"], rig.tmp / "gone")
    record = ctl.start_backup().run()
    assert record.status == "PartialSucceeded"
    assert {r["roleName"]: r["status"] for r in record.roleStatus} == {"CA": "Succeeded", "ECE": "Failed"}
    assert not record.isCloudRecoveryReady
    assert [a.category for a in ctl.alert_book().active()] == ["GeneralFault"]


def test_a_killed_job_leaves_no_complete_backup_and_is_failed_on_next_start(rig):
    (rig.sources["CA"] / "big").write_bytes(os.urandom(40_000))
    job = rig.ctl.start_backup()
    steps = job.steps()
    for _ in range(3):
        next(steps)
    job.kill()
    steps.close()  # as if the process died here
    assert complete_backups(rig.share) == []
    leftovers = os.listdir(rig.share / "MASBackup")
    assert leftovers and all(layout.is_leftover_name(n) for n in leftovers)
    ctl = rig.new_controller()
    assert ctl.backup_record(job.record.id).status == "Failed"  # a read notices the dead job
    assert "interrupted" in ctl.backup_record(job.record.id).error["message"]
    record = ctl.start_backup().run()
    assert record.status == "Succeeded"
    assert os.listdir(rig.share / "MASBackup") == [record.id]  # leftovers removed


def test_schedule_runs_every_frequency_and_on_demand_does_not_move_it(rig):
    first = rig.ctl.next_backup_time()
    assert first == rig.clock.now() + dt.timedelta(hours=12)
    rig.clock.advance(5 * HOUR)
    rig.ctl.start_backup().run()
    assert rig.ctl.next_backup_time() == first
    assert rig.ctl.start_scheduled() is None  # not due yet
    rig.clock.advance(7 * HOUR)
    job = rig.ctl.start_scheduled()
    assert isinstance(job, Job) and job.run().trigger == "Scheduled"
    assert rig.ctl.next_backup_time() == first + dt.timedelta(hours=12)


def test_scheduler_disabled_keeps_settings_and_skips_runs(rig):
    rig.ctl.configure(scheduler=False, frequency_hours=6)
    assert rig.ctl.next_backup_time() is None
    rig.clock.advance(2 * DAY)
    assert rig.ctl.start_scheduled() is None
    assert rig.ctl.backups() == []
    assert rig.ctl.settings.frequency_hours == 6 and rig.ctl.settings.path == str(rig.share)
    rig.ctl.configure(scheduler=True)
    assert rig.ctl.next_backup_time() == rig.clock.now() + dt.timedelta(hours=6)


def test_update_window_skips_scheduled_and_refuses_on_demand(rig):
    ctl = rig.new_controller(maintenance=lambda: "an update")
    with pytest.raises(MaintenanceInProgress):
        ctl.start_backup()
    rig.clock.advance(12 * HOUR)
    outcome = ctl.start_scheduled()
    assert isinstance(outcome, BackupRecord) and outcome.status == "Skipped"


def test_retention_deletes_old_backups_but_never_the_newest_succeeded(rig):
    ids = []
    for _ in range(4):
        ids.append(rig.ctl.start_backup().run().id)
        rig.clock.advance(3 * DAY)
    # Days 0, 3, 6, 9: the backup of day 9 deleted day 0's. Now, day 12, day 3's is past it.
    assert rig.ctl.backup_record(ids[0]).status == "Deleted"
    assert rig.ctl.prune(dry_run=True) == [str(rig.share / "MASBackup" / ids[1])]
    assert complete_backups(rig.share) == sorted(ids[1:])  # a dry run deletes nothing
    rig.clock.advance(30 * DAY)
    pruned = rig.ctl.prune()
    assert len(pruned) == 2
    assert complete_backups(rig.share) == [ids[-1]]  # the newest Succeeded stays
    assert [rig.ctl.backup_record(i).status for i in ids] == ["Deleted"] * 3 + ["Succeeded"]


def test_lowering_retention_prunes_at_once(rig):
    old = rig.ctl.start_backup().run().id
    rig.clock.advance(5 * DAY)
    new = rig.ctl.start_backup().run().id
    result = rig.ctl.configure(retention_days=3)
    assert result.pruned == [str(rig.share / "MASBackup" / old)]
    assert complete_backups(rig.share) == [new]


def test_a_successful_backup_applies_retention(rig):
    old = rig.ctl.start_backup().run().id
    rig.clock.advance(8 * DAY)
    rig.ctl.start_backup().run()
    assert rig.ctl.backup_record(old).status == "Deleted"


@pytest.mark.parametrize("change, message", [
    ({"frequency_hours": 3}, "between 4 and 12 hours, got 3"),
    ({"frequency_hours": 13}, "between 4 and 12 hours, got 13"),
    ({"retention_days": 1}, "between 2 and 14 days, got 1"),
    ({"retention_days": 15}, "between 2 and 14 days, got 15"),
    ({"path": r"\\host"}, "UNC"),
    ({"path": "/does/not/exist"}, "does not exist"),
    ({"path": "relative/path"}, "neither a UNC path"),
    ({"sources": {"CA": "/does/not/exist"}}, "does not exist"),
    ({"smb_timeout": 0}, "between 1 and 300 seconds"),
    ({"cert": b"not a certificate"}, "not an X.509 certificate"),
])
def test_bad_settings_are_refused_and_change_nothing(rig, change, message):
    before = Path(rig.ctl.store.path("settings.json")).read_bytes()
    with pytest.raises(BadInput) as info:
        rig.ctl.configure(**{"scheduler": False, **change})  # a good change rides along
    assert message in str(info.value)
    assert Path(rig.ctl.store.path("settings.json")).read_bytes() == before


def test_share_password_is_stored_encrypted(rig):
    rig.ctl.configure(username="backup-op", password="Sh@re-Pa55-plaintext")
    for dirpath, _, files in os.walk(rig.ctl.store.root):
        for name in files:
            assert b"Sh@re-Pa55-plaintext" not in Path(dirpath, name).read_bytes()
    assert rig.ctl.share_password() == "Sh@re-Pa55-plaintext"


def test_store_writable_by_others_is_refused(tmp_path):
    folder = tmp_path / "loose"
    folder.mkdir()
    os.chmod(folder, 0o777)
    with pytest.raises(BadInput, match="can be written by other users"):
        Store(str(folder))


def test_unconfigured_backup_says_what_is_missing(tmp_path):
    from ibs.engine.clock import ManualClock
    from tests.engine.conftest import T0

    ctl = Controller(Store(str(tmp_path / "s")), ManualClock(T0))
    with pytest.raises(BadInput, match="--path and --encryption-cert"):
        ctl.start_backup()


def test_history_sees_what_another_controller_saved(rig):
    watcher = rig.ctl
    assert watcher.backups() == []  # loaded (and cached) before the other one writes
    record = rig.new_controller().start_backup().run()
    assert [(r.id, r.status) for r in watcher.backups()] == [(record.id, "Succeeded")]


def test_a_running_job_shows_its_progress_to_other_processes(rig):
    (rig.sources["CA"] / "big").write_bytes(os.urandom(50_000))
    job = rig.ctl.start_backup()
    steps = job.steps()
    next(steps)
    watcher = rig.new_controller()  # as `ibs backup show` or the REST provider would
    seen = watcher.backup_record(job.record.id)
    assert seen.status == "Running"
    assert seen.progress["doneBytes"] > 0 and seen.progress["totalBytes"] >= 50_000
    for _ in steps:
        pass
    assert watcher.backup_record(job.record.id).progress is None
    assert watcher.backup_record(job.record.id).status == "Succeeded"


def test_progress_is_saved_by_bytes_and_by_time_not_by_bytes_alone(rig, monkeypatch):
    # Each save is two fsynced files: a fast backup must not save many times a second.
    from ibs.engine import job as job_module

    monkeypatch.setattr(job_module, "_PROGRESS_EVERY", 1)  # every chunk is "enough bytes"
    (rig.sources["CA"] / "big").write_bytes(os.urandom(rig.ctl.chunk_size * 6))
    seen: list[int] = []
    job = rig.ctl.start_backup()
    for n, _ in enumerate(job.steps()):
        progress = rig.new_controller().backup_record(job.record.id).progress
        seen.append(progress["doneBytes"] if progress else -1)
        if n == 2:
            rig.clock.advance(job_module._PROGRESS_SECONDS)  # a second later: saved again
    assert len(seen) >= 6
    assert seen[:3] == [seen[0]] * 3  # the clock stood still: only the first step was saved
    assert seen[3] > seen[0]
    assert seen[-2] == seen[3]


@pytest.mark.parametrize("private", [False, True])
def test_the_next_slot_and_share_password_follow_every_change(tmp_path, cert_pair, private):
    # A private store lets the controller keep what it read until the file's next write; a
    # shared one is read again each time, so another controller's change shows at once.
    from ibs.engine.clock import ManualClock
    from tests.engine.conftest import T0

    clock = ManualClock(T0)
    store = Store(str(tmp_path / "store"), durable=False, private=private)
    ctl = Controller(store, clock)
    ctl.configure(path=str(tmp_path), cert=cert_pair.cer, password="first",
                  frequency_hours=12)
    assert ctl.next_slot() == T0 + dt.timedelta(hours=12)
    assert ctl.share_password() == "first"
    ctl.configure(frequency_hours=4, password="second")
    assert ctl.next_slot() == T0 + dt.timedelta(hours=4)
    assert ctl.share_password() == "second"
    if not private:
        clock.advance(5 * HOUR)  # past the slot: a new frequency counts from now
        other = Controller(Store(str(tmp_path / "store")), clock)
        other.configure(frequency_hours=6, password="third")
        assert ctl.next_slot() == T0 + dt.timedelta(hours=11)
        assert ctl.share_password() == "third"


def test_a_backup_after_a_new_certificate_is_encrypted_for_the_new_one(rig, cert_pair):
    from ibs.engine.certs import thumbprint

    renewed = (Path(__file__).parent / "golden" / "TEST-ONLY-renewed.cer").read_bytes()
    first = rig.ctl.start_backup().run()
    assert first.encryptionCertThumbprint == cert_pair.thumbprint
    rig.ctl.configure(cert=renewed)
    second = rig.ctl.start_backup().run()
    assert second.status == "Succeeded"
    assert second.encryptionCertThumbprint == thumbprint(renewed) != cert_pair.thumbprint
