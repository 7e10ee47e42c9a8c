"""A simulated Azure Stack Hub that drives the real backup engine in SimPy's virtual time.

The controller is the engine's own ``Controller``, with SimPy's clock, an in-memory share (or a
real SMB server, see simulator/wire.py), and sources that read the simulated roles. The hub
holds the world's state and wires the controller to it; the processes that move time are in
simulator/processes.py, the share's verdicts in simulator/gate.py.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Callable, Generator
from typing import Any, Self

import simpy

from ibs.engine.backup_writer import Progress
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput
from ibs.engine.history import BackupRecord
from ibs.engine.job import SOURCE_ESTIMATE_MARGIN, Job
from ibs.engine.share.unc import UncPath, parse_unc
from ibs.simulator import calibration, gate, processes, scale, shape
from ibs.simulator.certificates import cert_pair
from ibs.simulator.clock import DAY, SimClock, now_ticks, seconds, ticks
from ibs.simulator.config import (  # noqa: F401  (re-exported: the hub's public names)
    DIALECTS,
    SHARE_FOLDER,
    SHARE_HOST,
    SHARE_NAME,
    SHARE_PATH,
    SHARE_USER,
    HubConfig,
    ServerModel,
    initial_share_password,
)
from ibs.simulator.crashpoints import CrashPoints
from ibs.simulator.events import EventLog
from ibs.simulator.memshare import MemoryShare, ShareStorage
from ibs.simulator.memstore import MemoryStore
from ibs.simulator.meter import ShareMeter
from ibs.simulator.network import ERCS_VMS, Firewall, PepDns
from ibs.simulator.role_plan import RolePlan
from ibs.simulator.roles import ROLES, RoleSnapshot, RoleState
from ibs.simulator.snapshot_book import SnapshotBook


class Hub:
    def __init__(self, config: HubConfig, workdir: str | None = None) -> None:
        self.config = config
        self.profile = config.profile
        self.env = simpy.Environment()  # time in whole ticks (simulator/clock.py)
        self.clock = SimClock(self.env, config.start)
        self.log = EventLog(config.start)
        self.rng = random.Random(f"hub:{config.seed}")
        self._id_rng = random.Random(f"ids:{config.seed}")
        self.roles = {name: RoleState(str(config.seed), name) for name in ROLES}
        self.ercs_up = {vm: True for vm in ERCS_VMS}
        self.active_vm = ERCS_VMS[0]
        self.firewall = Firewall()
        self.dns = PepDns()
        self.link = config.link
        self.maintenance_windows: list[tuple[int, int, str]] = []  # ticks
        self.share_password = initial_share_password(config.seed)
        self.server = ServerModel(users={SHARE_USER: self.share_password})
        self.storage = ShareStorage(scale.to_real(config.share_capacity_bytes))
        self.storage.filler = scale.to_real(config.share_used_bytes)
        self.storage.add_dir(SHARE_NAME)
        self.storage.add_dir(f"{SHARE_NAME}/{SHARE_FOLDER}")
        self.path = SHARE_PATH
        self.certs: dict[str, tuple[bytes, bytes, str]] = {"initial": cert_pair(f"{config.seed}")}
        self.current_cert = "initial"
        self.snapshots = SnapshotBook()
        self.meter = ShareMeter()
        #: Called with each finished job's record, at the moment it finishes (fuzzing invariants).
        self.after_job: list[Callable[[BackupRecord], None]] = []
        self.crash_pending = False
        self.crash_points = CrashPoints(self)  # crashes at a chosen phase of a job (the fuzzer's)
        self._owns_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="ibs-sim-", dir=_scratch())
        self._pending_snapshots: dict[str, RoleSnapshot] = {}
        self.role_plan = RolePlan(self.roles)  # each backup's roles, sized to its modelled size
        # The job running now, if any, and its steps. An attribute, not a property: the crash
        # points ask for it at every share operation. Read it; only the hub sets it.
        self.running_job: Job | None = None
        self._steps: Generator[Progress, None, None] | None = None
        self._wake = self.env.event()
        # One store for the hub's whole run: a controller that restarts (a crash, a failover)
        # reads the state its predecessor left, as the real controller would from its disk.
        # Kept in memory (simulator/memstore.py); its files reach the disk when asked for.
        self._store = MemoryStore(os.path.join(self.workdir, "store"))
        self.wire = None
        if config.fidelity == "wire":
            from ibs.simulator.wire import WireWorld

            self.wire = WireWorld(self)
        self.ctl = self._new_controller()
        self._configure()
        self.role_plan.calibrate(self._framing())
        self.env.process(processes.scheduler(self))
        self.env.process(processes.tenants(self))

    @property
    def job_running(self) -> str | None:
        """The id of the job running now, if any."""
        return self.running_job.record.id if self.running_job is not None else None

    # --- time -------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual seconds since the run began (exact ticks are ``env.now``)."""
        return seconds(now_ticks(self.env))

    @property
    def day(self) -> int:
        """The whole virtual day the run is in (0 = the day backup was enabled)."""
        return now_ticks(self.env) // DAY

    def timeout(self, seconds_: float) -> simpy.Timeout:
        return self.env.timeout(ticks(seconds_))

    def run(self, days: float) -> None:
        """Run until ``days`` after the start; an event at exactly that instant does not happen."""
        self.env.run(until=max(now_ticks(self.env) + 1, ticks(days * 86400)))

    def run_for(self, seconds_: float) -> None:
        self.env.run(until=now_ticks(self.env) + max(1, ticks(seconds_)))

    # --- the controller and what it is connected to ----------------------------------------

    def _new_controller(self) -> Controller:
        deployment = uuid.UUID(int=random.Random(f"dep:{self.config.seed}").getrandbits(128),
                               version=4)
        return Controller(
            self._store, self.clock,
            share_factory=self._share_factory, source_factory=self._source_factory,
            new_id=self._new_id, threads=False, chunk_size=scale.SIM_CHUNK_SIZE,
            info={"stampVersion": self.profile.version, "deploymentID": str(deployment)},
            maintenance=self.maintenance_reason,
            # The engine's fixed margin is modelled at its real size, never multiplied by the
            # scale (64 KiB, not 1 GiB); sizes in its messages are modelled ones.
            space_margin=max(1, scale.to_real(SOURCE_ESTIMATE_MARGIN)),
            shown_bytes=scale.to_modelled,
        )

    def _configure(self) -> None:
        placeholders = {}
        for role in ROLES:
            folder = os.path.join(self.workdir, "roles", role)
            os.makedirs(folder, exist_ok=True)
            placeholders[role] = folder
        self.ctl.configure(path=self.path, username=SHARE_USER, password=self.share_password,
                           cert=self.certs["initial"][0],
                           frequency_hours=self.config.frequency_hours,
                           retention_days=self.config.retention_days,
                           scheduler=self.config.scheduler, sources=placeholders,
                           smb_timeout=self.config.smb_timeout_seconds)

    def _framing(self) -> shape.Framing:
        return calibration.framing(self.profile, self.config.start, self.certs["initial"][0],
                                   self.ctl.info, self.roles, self.backup_bytes_now(),
                                   self.clock.now())

    def _new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._id_rng.getrandbits(128), version=4)

    def backup_bytes_now(self) -> int:
        """Modelled size of a backup taken now (simulator/growth.py, as the sizing model has it)."""
        return self.profile.backup_bytes_on_day(self.day)

    def _source_factory(self, role: str, folder: str) -> RoleSnapshot:
        # The roles of a backup are sized together, at the instant it starts.
        snapshot = self.role_plan.snapshot(role, now_ticks(self.env), self.backup_bytes_now)
        self._pending_snapshots[role] = snapshot
        return snapshot

    def _share_factory(self, settings, password):
        unc = _parse_unc(settings.path)
        if self.wire is not None:
            return self.crash_points.wrap(self.wire.share(unc, settings.username, password))
        root = f"{unc.share}/{unc.folder}".strip("/") if unc.folder else unc.share
        return self.crash_points.wrap(MemoryShare(
            self.storage, root, str(unc),
            gate=gate.for_share(self, unc, settings.username, password),
            encrypted=lambda: self.server.encryption != "off"))

    def stored_share_password(self) -> str | None:
        """The share password the controller has now (what the operator last set)."""
        return self.ctl.share_password()

    def maintenance_reason(self) -> str | None:
        now = now_ticks(self.env)
        for start, end, kind in self.maintenance_windows:
            if start <= now < end:
                return f"an {kind} operation" if kind == "update" else f"a {kind} operation"
        return None

    def add_maintenance(self, hours: float, kind: str) -> None:
        self.maintenance_windows.append((now_ticks(self.env), now_ticks(self.env) + ticks(hours * 3600), kind))

    # --- the scheduler and jobs (driven by simulator/processes.py) ---------------------------

    def wake_event(self) -> simpy.Event:
        self._wake = self.env.event()
        return self._wake

    def wake_scheduler(self) -> None:
        """The operator changed something: the scheduler looks at its next slot again."""
        if not self._wake.triggered:
            self._wake.succeed()

    def request_backup(self) -> simpy.Process:
        return self.env.process(processes.on_demand(self))

    def job_started(self, job: Job, steps: Generator[Progress, None, None]) -> None:
        self._pending_snapshots = {}
        self.running_job, self._steps = job, steps

    def snapshots_taken(self, backup_id: str) -> int:
        """The job has snapshotted its roles: keep them (recovery compares with them)."""
        return self.snapshots.keep(backup_id, self._pending_snapshots)

    def job_died(self, record: BackupRecord, vm: str) -> None:
        self.running_job = self._steps = None
        self.log.add(now_ticks(self.env), "controller crashed", id=record.id, vm=vm)
        if self.crash_pending:
            self._restart_controller()
        else:
            self._failover()

    def transfer_plan(self) -> tuple[int, int] | None:
        """(entry-stream bytes, modelled bytes) of the backup being written (simulator/role_plan.py)."""
        return self.role_plan.transfer()

    def job_ended(self, record: BackupRecord) -> None:
        self.running_job = self._steps = None
        if record.status == "Succeeded" and record.id not in self.snapshots:
            self.snapshots.keep(record.id, self._pending_snapshots)
        self.sample()
        fields: dict[str, Any] = {"id": record.id, "status": record.status,
                                  "sizeBytes": scale.to_modelled(record.sizeBytes)}
        if record.error:
            fields["category"] = record.error["category"]
            fields["message"] = record.error["message"]
        self.log.add(now_ticks(self.env), "backup finished", **fields)

    def cert_for(self, thumbprint: str | None) -> str | None:
        """The name of the uploaded certificate with this thumbprint, if the run made it."""
        from ibs.engine.certs import thumbprint as thumbprint_of

        return next((name for name, (cer, _pfx, _pw) in self.certs.items()
                     if thumbprint_of(cer) == thumbprint), None)

    # --- the share's occupancy -----------------------------------------------------------------

    def budget_bytes(self) -> int:
        """REFERENCE.md: per-backup size x (24 / frequency hours) x retention days, as set now."""
        settings = self.ctl.settings
        return self.profile.backup_bytes * 24 * settings.retention_days // settings.frequency_hours

    def sample(self) -> None:
        """Record what the share holds now (after anything that may have changed it)."""
        # Asked after every record of every backup, and nearly every record changes what the
        # share holds: share_used_bytes, to_modelled, now_ticks and seconds were four calls more.
        wire = self.wire
        real = self.storage.stored if wire is None else wire.used_bytes()
        self.meter.sample(self.env.now, real * scale.MODELLED_PER_REAL, self.budget_bytes)

    @property
    def peak_bytes(self) -> int:
        return self.meter.peak_bytes

    @property
    def peak_budget_bytes(self) -> int:
        return self.meter.peak_budget_bytes

    @property
    def occupancy(self) -> list[tuple[float, int]]:
        return self.meter.occupancy

    def storage_root(self) -> str:
        """The configured folder's path inside the in-memory file server."""
        return f"{SHARE_NAME}/{SHARE_FOLDER}"

    def share_used_bytes(self) -> int:
        """Modelled bytes the backups take on the share now (other data not counted)."""
        if self.wire is not None:
            return scale.to_modelled(self.wire.used_bytes())
        return scale.to_modelled(self.storage.stored)

    # --- ERCS VMs ---------------------------------------------------------------------------

    def fail_ercs(self, vm: str) -> None:
        _check_vm(vm)
        self.ercs_up[vm] = False
        self.log.add(now_ticks(self.env), "ercs down", vm=vm)
        if vm == self.active_vm and self.job_running is None:
            self._failover()

    def restore_ercs(self, vm: str) -> None:
        _check_vm(vm)
        self.ercs_up[vm] = True
        self.log.add(now_ticks(self.env), "ercs up", vm=vm)

    def failover_to(self, vm: str) -> None:
        _check_vm(vm)
        self.active_vm = vm
        self.ctl = self._new_controller()
        self.log.add(now_ticks(self.env), "controller failover", vm=vm)
        if self.wire is not None:
            self.wire.sync()
        self.wake_scheduler()

    def crash_controller(self) -> None:
        """The controller's process dies: at once if idle, else at the running job's next step."""
        if self.job_running is None:
            self.log.add(now_ticks(self.env), "controller crashed", id=None, vm=self.active_vm)
            self._restart_controller()
        else:
            self.crash_pending = True

    def _restart_controller(self) -> None:
        self.crash_pending = False
        self.ctl = self._new_controller()
        self.log.add(now_ticks(self.env), "controller restarted", vm=self.active_vm)
        self.wake_scheduler()

    def _failover(self) -> None:
        for vm in ERCS_VMS[ERCS_VMS.index(self.active_vm) + 1:] + ERCS_VMS:
            if self.ercs_up[vm] and vm != self.active_vm:
                self.failover_to(vm)
                return
        self.log.add(now_ticks(self.env), "no ERCS VM left for the controller")

    # --- the end ----------------------------------------------------------------------------

    def close(self) -> None:
        job, steps = self.running_job, self._steps
        if job is not None and steps is not None:  # the run ended mid-job: stop it as the clock stops
            job.kill()
            steps.close()
            self.running_job = self._steps = None
        if self.wire is not None:
            self.wire.close()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_vm(vm: str) -> None:
    if vm not in ERCS_VMS:
        raise BadInput(f"ERCS VM must be one of {', '.join(ERCS_VMS)}, not {vm!r}")


def _scratch() -> str | None:
    # Scratch state in memory where the machine has it: a simulated year saves thousands of files.
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@functools.lru_cache(maxsize=8)
def _parse_unc(path: str) -> UncPath:
    # The controller opens the share two or three times a backup, always at the same path.
    return parse_unc(path)
