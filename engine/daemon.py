"""The scheduler loop behind ``ibs daemon``: run each backup when its time comes.

It only asks the controller what is due and sleeps on the injected clock, so the same loop runs
in real time (the daemon) and on a manual clock (its tests).
"""

from __future__ import annotations

from collections.abc import Callable

from ibs.engine.controller import Controller
from ibs.engine.job import Job
from ibs.engine.history import BackupRecord

# Wake at least this often, so settings changed by another process are noticed.
MAX_SLEEP = 60.0


def serve(ctl: Controller, stopping: Callable[[], bool], log: Callable[[str], None]) -> None:
    while not stopping():
        outcome = ctl.start_scheduled()
        if isinstance(outcome, Job):
            record = outcome.run()
            log(record.describe())
        elif isinstance(outcome, BackupRecord):
            log(f"backup {outcome.id} Skipped: {'; '.join(outcome.warnings)}")
        if stopping():
            break
        nxt = ctl.next_backup_time()
        wait = MAX_SLEEP if nxt is None else (nxt - ctl.clock.now()).total_seconds()
        ctl.clock.sleep(min(max(wait, 0.0), MAX_SLEEP))

