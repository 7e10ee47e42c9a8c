"""The hub's SimPy processes: the scheduler, the tenants, on-demand requests, and a job's run.

Each is a generator over the hub's public surface. A job advances one chunk per step; between
two steps virtual time passes (bytes / link bandwidth) and the rest of the world changes what
the next step meets.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from ibs.engine.errors import IbsError
from ibs.engine.history import BackupRecord
from ibs.engine.job import Job
from ibs.simulator import scale
from ibs.simulator.clock import HOUR, now_ticks, ticks
from ibs.simulator.crashpoints import ControllerCrashed

if TYPE_CHECKING:
    from ibs.simulator.hub import Hub

Process = Generator[simpy.Event, Any, None]


def scheduler(hub: Hub) -> Process:
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


def tenants(hub: Hub) -> Process:
    """Tenants change one role's objects about once every ``tenant_change_every_hours``."""
    names = sorted(hub.roles)
    mean = hub.config.tenant_change_every_hours * 3600
    while True:
        yield hub.env.timeout(max(1, ticks(hub.rng.expovariate(1 / mean))))
        hub.roles[hub.rng.choice(names)].change(hub.rng)


def on_demand(hub: Hub) -> Process:
    try:
        job = hub.ctl.start_backup("OnDemand")
    except IbsError as exc:
        hub.log.add(now_ticks(hub.env), "on-demand refused", reason=str(exc), exitCode=exc.exit_code)
        return
    yield from drive(hub, job)


def drive(hub: Hub, job: Job) -> Process:
    """Run a job step by step in virtual time; a failure of its ERCS VM kills it."""
    vm = hub.active_vm
    record = job.record
    steps = job.steps()
    if not isinstance(steps, Generator):  # Job.steps() is typed as a mere Iterator
        raise TypeError("Job.steps() must be a generator: a crash closes it to release the slot")
    hub.job_started(job, steps)
    hub.log.add(now_ticks(hub.env), "backup started", id=record.id, trigger=record.trigger, vm=vm)
    done = 0
    first = True
    # Looked up once: this loop runs once per chunk, some 16,000 times a simulated year.
    timeout, sample, up = hub.env.timeout, hub.sample, hub.ercs_up
    per_real = scale.MODELLED_PER_REAL
    try:
        for progress in steps:
            if first:
                first = False
                roles = hub.snapshots_taken(record.id)
                yield timeout(ticks(hub.config.role_overhead_seconds * roles))
            moved = (progress.done_bytes - done) * per_real  # scale.to_modelled
            done = progress.done_bytes
            yield timeout(max(1, ticks(hub.link.transfer_seconds(moved))))
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
