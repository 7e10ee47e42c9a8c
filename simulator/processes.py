"""The hub's SimPy processes: the scheduler, the tenants, on-demand requests, and a job's run.

Each is a generator over the hub's public surface. A job advances one chunk per step; between
two steps virtual time passes (bytes / link bandwidth) and the rest of the world changes what
the next step meets.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any, Protocol

import simpy

from ibs.engine.backup_writer import Progress
from ibs.engine.controller import Controller
from ibs.engine.errors import IbsError
from ibs.engine.history import BackupRecord
from ibs.engine.job import Job
from ibs.simulator import scale
from ibs.simulator.clock import HOUR, SimClock, now_ticks, ticks
from ibs.simulator.config import HubConfig
from ibs.simulator.crashpoints import ControllerCrashed
from ibs.simulator.events import EventLog
from ibs.simulator.network import Link
from ibs.simulator.roles import RoleState


class World(Protocol):
    """The hub's public surface these processes drive (simulator/hub.py is the one
    implementation; naming only this keeps this module from importing the hub that starts it)."""

    ctl: Controller
    clock: SimClock
    env: simpy.Environment
    log: EventLog
    config: HubConfig
    rng: random.Random
    roles: dict[str, RoleState]
    link: Link
    active_vm: str
    ercs_up: dict[str, bool]
    crash_pending: bool
    #: Called with each finished job's record, at the moment it finishes.
    after_job: list[Callable[[BackupRecord], None]]

    def wake_event(self) -> simpy.Event: ...

    def job_started(self, job: Job, steps: Generator[Progress, None, None]) -> None: ...

    def snapshots_taken(self, backup_id: str) -> int: ...

    def transfer_plan(self) -> tuple[int, int] | None: ...

    def sample(self) -> None: ...

    def job_died(self, record: BackupRecord, vm: str) -> None: ...

    def job_ended(self, record: BackupRecord) -> None: ...


Process = Generator[simpy.Event, Any, None]


def scheduler(hub: World) -> Process:
    """Wake at each scheduled slot (or when the operator changes something) and act on it."""
    while True:
        slot = hub.ctl.next_slot()
        wait = HOUR if slot is None else max(0, hub.clock.ticks_until(slot))
        yield hub.env.timeout(wait) | hub.wake_event()
        outcome = hub.ctl.start_scheduled()
        if isinstance(outcome, Job):
            yield from drive(hub, outcome)
        elif isinstance(outcome, BackupRecord):
            hub.log.add(now_ticks(hub.env), "backup skipped", id=outcome.id,
                        reason="; ".join(outcome.warnings))


def tenants(hub: World) -> Process:
    """Tenants change one role's objects about once every ``tenant_change_every_hours``."""
    names = sorted(hub.roles)
    rate = 1 / (hub.config.tenant_change_every_hours * 3600)
    # Looked up once: a year has some 9,000 changes.
    timeout, rng, roles = hub.env.timeout, hub.rng, hub.roles
    while True:
        yield timeout(max(1, ticks(rng.expovariate(rate))))
        roles[rng.choice(names)].change(rng)


def on_demand(hub: World) -> Process:
    try:
        job = hub.ctl.start_backup("OnDemand")
    except IbsError as exc:
        hub.log.add(now_ticks(hub.env), "on-demand refused", reason=str(exc), exitCode=exc.exit_code)
        return
    yield from drive(hub, job)


def drive(hub: World, job: Job) -> Process:
    """Run a job step by step in virtual time; a failure of its ERCS VM kills it."""
    vm = hub.active_vm
    record = job.record
    steps = job.steps()
    if not isinstance(steps, Generator):  # Job.steps() is typed as a mere Iterator
        raise TypeError("Job.steps() must be a generator: a crash closes it to release the slot")
    hub.job_started(job, steps)
    hub.log.add(now_ticks(hub.env), "backup started", id=record.id, trigger=record.trigger, vm=vm)
    first = True
    # Looked up once: this loop runs once per chunk, some 16,000 times a simulated year.
    timeout, sample, up, transfer_ticks = (hub.env.timeout, hub.sample, hub.ercs_up,
                                           hub.link.transfer_ticks)
    # The link carries the backup's modelled size (framing included, at any scale), in
    # proportion to the entry-stream bytes written; without a plan, the scaled bytes.
    plain, modelled = 1, scale.MODELLED_PER_REAL
    shown = 0
    try:
        for progress in steps:
            if first:
                first = False
                roles = hub.snapshots_taken(record.id)
                plain, modelled = hub.transfer_plan() or (1, scale.MODELLED_PER_REAL)
                yield timeout(ticks(hub.config.role_overhead_seconds * roles))
            done = progress.done_bytes
            now_shown = done * modelled // plain
            moved, shown = now_shown - shown, now_shown
            yield timeout(transfer_ticks(moved))
            sample()
            if not up[vm] or hub.crash_pending:
                job.kill()
                steps.close()
                hub.job_died(record, vm)
                return
    except ControllerCrashed:  # inside a step, at a crash point (simulator/crashpoints.py)
        hub.job_died(record, vm)
        return
    hub.job_ended(record)
    for skipped in job.skipped:
        hub.log.add(now_ticks(hub.env), "backup skipped", id=skipped.id,
                    reason="; ".join(skipped.warnings), scheduledFor=skipped.createdDateTime)
    for observer in hub.after_job:
        observer(record)
