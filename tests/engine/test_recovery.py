"""A job whose process died is settled by what the share holds: a backup complete on the share
is recorded as such (not Failed), so the history and the share agree after recovery."""

from __future__ import annotations

import os

import pytest

from ibs.engine import layout
from ibs.engine.share import LocalShare
from tests.engine.test_controller import complete_backups


class _Death(BaseException):
    """The process ending at this instant (nothing after it runs, bookkeeping included)."""


def dying_after_commit(rig):
    """A controller whose job dies right after its backup's final rename; and that job."""
    jobs = []

    def share_factory(settings, password):
        share = LocalShare(settings.path)
        rename = share.rename

        def rename_then_die(src: str, dst: str) -> None:
            rename(src, dst)
            if layout.is_backup_name(dst.rsplit("/", 1)[-1]):
                jobs[0].kill()
                raise _Death

        share.rename = rename_then_die
        return share

    ctl = rig.new_controller(share_factory=share_factory)
    job = ctl.start_backup()
    jobs.append(job)
    with pytest.raises(_Death):
        job.run()
    assert ctl.history.get(job.record.id).status == "Running"  # as the dead process left it
    return job.record.id


def _stored(share, backup_id: str) -> int:
    folder = share / "MASBackup" / backup_id
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_backup_complete_before_the_kill_is_recorded_succeeded(rig, cert_pair):
    backup_id = dying_after_commit(rig)
    assert complete_backups(rig.share) == [backup_id]
    ctl = rig.new_controller()
    record = ctl.backup_record(backup_id)  # a read settles the dead job
    assert record.status == "Succeeded" and record.error is None
    assert record.roleStatus == [{"roleName": "CA", "status": "Succeeded"},
                                 {"roleName": "ECE", "status": "Succeeded"}]
    assert record.sizeBytes == _stored(rig.share, backup_id)
    assert record.dataBytes == sum(p.stat().st_size for src in rig.sources.values()
                                   for p in src.rglob("*") if p.is_file())
    assert record.isCloudRecoveryReady and record.encryptionCertThumbprint == cert_pair.thumbprint
    assert any("complete on the share" in w for w in record.warnings)
    assert set(ctl.verify(backup_id, cert_pair.key)) == {"CA", "ECE"}


def test_the_next_backup_settles_it_too_and_retention_keeps_it_as_the_newest_good(rig):
    backup_id = dying_after_commit(rig)
    ctl = rig.new_controller()
    os.rename(rig.sources["ECE"], rig.tmp / "gone")  # the next backup is only partial
    later = ctl.start_backup().run()
    assert later.status == "PartialSucceeded"
    assert ctl.backup_record(backup_id).status == "Succeeded"
    # Past retention, the newest Succeeded backup stays: the recovered one.
    rig.clock.advance(30 * 24 * 3600)
    ctl.prune()
    assert complete_backups(rig.share) == [backup_id]


def test_a_backup_missing_a_configured_role_is_recovered_partial(rig):
    backup_id = dying_after_commit(rig)
    rig.ctl.configure(sources={**{k: str(v) for k, v in rig.sources.items()},
                               "NRP": str(rig.sources["CA"])})
    record = rig.new_controller().backup_record(backup_id)
    assert record.status == "PartialSucceeded"
    assert {r["roleName"]: r["status"] for r in record.roleStatus} == {
        "CA": "Succeeded", "ECE": "Succeeded", "NRP": "Failed"}


def test_when_the_share_cannot_be_asked_the_job_is_failed_and_says_why(rig):
    backup_id = dying_after_commit(rig)
    os.rename(rig.share, rig.tmp / "share-moved")
    record = rig.new_controller().backup_record(backup_id)
    assert record.status == "Failed"
    assert "could not be checked" in record.error["message"]


def test_a_damaged_backup_on_the_share_is_not_taken_for_a_complete_one(rig):
    backup_id = dying_after_commit(rig)
    role_file = next((rig.share / "MASBackup" / backup_id).rglob("*.ibsr"))
    with open(role_file, "r+b") as f:
        f.truncate(role_file.stat().st_size - 1)
    record = rig.new_controller().backup_record(backup_id)
    assert record.status == "Failed" and "interrupted" in record.error["message"]


_WRITES = ("makedirs", "create", "write_bytes", "rename", "remove", "rmtree")


def dying_after(real, k: int, calls: list[int], jobs: list):
    """``real``, but the process dies right after the ``k``-th of these calls returns."""
    def call(*args, **kw):
        result = real(*args, **kw)
        calls[0] += 1
        if calls[0] == k and jobs:
            jobs[0].kill()
            raise _Death
        return result
    return call


def test_a_death_after_any_share_write_leaves_history_and_share_agreeing(rig):
    """The process dies right after its k-th write to the share, for every k: after recovery,
    a backup is Succeeded in the history exactly when its folder is on the share."""
    k, completed = 0, False
    while not completed:
        k += 1
        calls, jobs = [0], []

        def share_factory(settings, password, k=k, calls=calls, jobs=jobs):
            share = LocalShare(settings.path)
            for name in _WRITES:
                setattr(share, name, dying_after(getattr(share, name), k, calls, jobs))
            return share

        ctl = rig.new_controller(share_factory=share_factory)
        job = ctl.start_backup()
        jobs.append(job)
        try:
            job.run()
            completed = True
        except _Death:
            pass
        records = rig.new_controller().backups()  # recovery
        on_share = set(complete_backups(rig.share))
        for r in records:
            assert (r.status in ("Succeeded", "PartialSucceeded")) == (r.id in on_share), (k, r)
        assert {r.id for r in records} >= on_share
    assert k > 5  # the deaths did land inside the job's writes
