"""When the next backup runs: the next slot on the store, how a settings change moves it, the
slots a long job runs past, and starting the scheduled backup when its slot comes
(docs/SCHEDULE.md).

The one slot lives in the store's ``schedule.json`` (``nextSlot``), so every process sharing a
store (the CLI, the daemon, the REST provider) agrees on it. Two loops drive it: the daemon's in
real time (engine/daemon.py) and the simulated hub's in virtual time (simulator/processes.py);
both only ask ``start_scheduled`` and sleep until ``next_slot``.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from ibs.engine.clock import Clock
from ibs.engine.errors import JobSlotTaken
from ibs.engine.history import BackupRecord, History
from ibs.engine.job import Job
from ibs.engine.jobstate import Status
from ibs.engine.manifest import format_time, parse_time
from ibs.engine.settings import SCHEDULE_FILE, Settings, read_schedule_json
from ibs.engine.store import Store


class ScheduleContext(Protocol):
    """What the schedule needs of the controller that owns it (engine/controller.py is the one
    implementation): the settings, the clock, the history, and a way to start a backup."""

    store: Store
    clock: Clock
    history: History

    @property
    def settings(self) -> Settings: ...

    def maintenance(self) -> str | None: ...  # why backups wait now (an update), or None

    def start_backup(self, trigger: str = "OnDemand") -> Job: ...

    def new_record(self, trigger: str, at: dt.datetime | None = None) -> BackupRecord: ...


class Schedule:
    """One controller's schedule: the slot in its store, and what happens when it comes."""

    def __init__(self, ctl: ScheduleContext) -> None:
        self.ctl = ctl
        # A private store's revisions say when a file changed: until then what was read from
        # it stands (a simulated year asks for the next slot thousands of times).
        self._slot_seen: tuple[int | None, dt.datetime | None] = (None, None)

    def next_slot(self) -> dt.datetime | None:
        """When ``start_scheduled`` next has something to do, scheduler on or off."""
        store = self.ctl.store
        revision = store.revision(SCHEDULE_FILE)
        if revision is not None and self._slot_seen[0] == revision:
            return self._slot_seen[1]
        raw = read_schedule_json(store).get("nextSlot")
        slot = parse_time(raw) if raw else None
        if revision is not None:
            self._slot_seen = (revision, slot)
        return slot

    def _set_next_slot(self, when: dt.datetime) -> None:
        store = self.ctl.store
        text = format_time(when)
        store.write_json(SCHEDULE_FILE, {"nextSlot": text})
        revision = store.revision(SCHEDULE_FILE)
        if revision is not None:  # a private store's file is what was just written
            # ``when`` in UTC is what reading that text gives (format_time keeps microseconds).
            self._slot_seen = (revision, when if when.tzinfo is dt.UTC else parse_time(text))

    def next_backup_time(self) -> dt.datetime | None:
        """The next slot when a backup will run at it: configured and the scheduler on."""
        settings = self.ctl.settings
        return self.next_slot() if settings.configured and settings.scheduler else None

    def reschedule(self, old: Settings, new: Settings) -> None:
        """The next slot after a settings change (docs/SCHEDULE.md).

        - Backup newly enabled: one period from now.
        - Frequency changed: the earlier of the pending slot and one new period from now, so a
          shorter frequency never postpones the backup already due; the new rhythm counts
          from that slot.
        - Scheduler turned back on: the rhythm it had resumes at its next slot (slots keep
          passing while it is off), so re-enabling never waits longer than one period.
        """
        now = self.ctl.clock.now()
        period = dt.timedelta(hours=new.frequency_hours)
        pending = self.next_slot()
        if new.configured and not old.configured or pending is None:
            if new.configured:
                self._set_next_slot(now + period)
            return
        if new.frequency_hours != old.frequency_hours:
            self._set_next_slot(min(pending, now + period) if pending > now else now + period)
        elif new.scheduler and not old.scheduler:
            while pending <= now:
                pending += period
            self._set_next_slot(pending)

    def skip_slots_passed(self, running: BackupRecord) -> list[BackupRecord]:
        """Slots that came while ``running`` held the job slot: each is recorded Skipped, and
        the job's record warns that the schedule cannot keep up. Returns the Skipped records."""
        settings = self.ctl.settings
        slot, now = self.next_slot(), self.ctl.clock.now()
        if slot is None or slot > now or slot < parse_time(running.createdDateTime):
            return []  # none came, or one was already due before (start_scheduled runs it)
        period = dt.timedelta(hours=settings.frequency_hours)
        skipped = []
        while slot <= now:
            if settings.scheduler:
                record = self.ctl.new_record("Scheduled", at=slot)
                record.move_to(Status.SKIPPED)
                record.warnings.append(f"skipped: backup {running.id} was still running")
                self.ctl.history.save(record)
                skipped.append(record)
            slot += period
        self._set_next_slot(slot)
        if skipped:
            running.warnings.append(
                f"the schedule cannot keep up: this backup ran past {len(skipped)} scheduled "
                f"time(s) of its every-{settings.frequency_hours}-hours schedule, which were "
                "skipped; use a longer frequency or a faster link to the share")
        return skipped

    def start_scheduled(self) -> Job | BackupRecord | None:
        """If a scheduled time has come: a Job to run, a Skipped record, or None if not due.

        Missed slots (the daemon was down) collapse into one run. With the scheduler off the
        slots pass without a run; turning it back on (``reschedule``) starts the rhythm again
        at its next slot.
        """
        ctl = self.ctl
        settings = ctl.settings
        slot = self.next_slot()
        now = ctl.clock.now()
        if not settings.configured or slot is None or now < slot:
            return None
        step = dt.timedelta(hours=settings.frequency_hours)
        while slot <= now:
            slot += step
        self._set_next_slot(slot)
        if not settings.scheduler:
            return None
        reason = ctl.maintenance()
        if reason is None:
            try:
                return ctl.start_backup("Scheduled")
            except JobSlotTaken:
                reason = "another backup job was running"
        record = ctl.new_record("Scheduled")
        record.move_to(Status.SKIPPED)
        record.warnings.append(f"skipped: {reason}")
        ctl.history.save(record)
        return record
