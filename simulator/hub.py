"""A simulated Azure Stack Hub that drives the real backup engine in SimPy's virtual time.

The controller is the engine's own ``Controller``, with SimPy's clock, an in-memory share (or a
real SMB server, see simulator/wire.py), and sources that read the simulated roles. A job runs
one chunk per step; between two steps virtual time passes (bytes / link bandwidth) and the rest
of the world (tenants, firewalls, failures, the operator) changes what the next step meets.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from engine.controller import Controller
from engine.job import Job
from engine.errors import (
    AuthenticationError,
    BadInput,
    ConnectivityError,
    IbsError,
    PathFaultError,
)
from engine.history import BackupRecord
from engine.share.unc import parse_unc
from engine.store import Store
from simulator import scale
from simulator.clock import SIM_EPOCH, SimClock
from simulator.events import EventLog
from simulator.keys import cert_pair
from simulator.memshare import MemoryShare, ShareStorage
from simulator.network import ERCS_VMS, SMB_PORT, Firewall, Link, PepDns
from simulator.profiles import HubProfile
from simulator.roles import ROLES, RoleSnapshot, RoleState

DAY = 86400.0
HOUR = 3600.0
SHARE_HOST = "backupshare.contoso.local"
SHARE_NAME = "backup"
SHARE_FOLDER = "stamp1"
SHARE_USER = "svc-azsbackup"
DIALECTS = ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")
_OVERHEAD_MARGIN = 160  # real bytes: covers a few more chunk tags as data grows


@dataclass
class HubConfig:
    profile: HubProfile
    seed: int = 1
    fidelity: str = "sim"
    frequency_hours: int = 12
    retention_days: int = 7
    scheduler: bool = True
    share_capacity_bytes: int = 10_000 * scale.GB  # modelled
    link: Link = field(default_factory=Link)
    start: dt.datetime = SIM_EPOCH
    tenant_change_every_hours: float = 1.0
    role_overhead_seconds: float = 60.0  # snapshotting a role before its data moves
    smb_timeout_seconds: int = 2  # wire fidelity: how long a dropped port takes to fail, for real

    def __post_init__(self) -> None:
        if self.fidelity not in ("sim", "wire"):
            raise BadInput(f"fidelity must be 'sim' or 'wire', not {self.fidelity!r}")


@dataclass
class ServerModel:
    """The SMB file server as the world sees it (the wire fidelity mirrors it onto fake_smb)."""

    users: dict[str, str]
    encryption: str = "desired"
    max_dialect: str = "3.1.1"
    shares: set[str] = field(default_factory=lambda: {SHARE_NAME})
    up: bool = True


class Hub:
    def __init__(self, config: HubConfig, workdir: str | None = None) -> None:
        self.config = config
        self.profile = config.profile
        self.env = simpy.Environment()
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
        self.maintenance_windows: list[tuple[float, float, str]] = []
        self.share_password = initial_share_password(config.seed)
        self.server = ServerModel(users={SHARE_USER: self.share_password})
        self.storage = ShareStorage(scale.to_real(config.share_capacity_bytes))
        self.storage.dirs |= {SHARE_NAME, f"{SHARE_NAME}/{SHARE_FOLDER}"}
        self.path = rf"\\{SHARE_HOST}\{SHARE_NAME}\{SHARE_FOLDER}"
        self.certs: dict[str, tuple[bytes, bytes, str]] = {"initial": cert_pair(f"{config.seed}")}
        self.current_cert = "initial"
        self.snapshots: dict[str, dict[str, RoleSnapshot]] = {}
        self.peak_bytes = 0
        self.peak_budget_bytes = 0
        self.occupancy: list[tuple[float, int]] = [(0.0, 0)]  # (virtual seconds, modelled bytes)
        self.job_running: str | None = None
        self._owns_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="ibs-sim-", dir=_scratch())
        self._pending_snapshots: dict[str, RoleSnapshot] = {}
        # Real bytes a backup stores beyond its role data (manifest, headers, tags). Role data is
        # sized so a whole backup stays within its modelled size; learnt from each backup.
        self._overhead_real = 0
        self._data_real = 0
        self._running: tuple[Job, Generator] | None = None
        self._wake = self.env.event()
        self._crash_requested = False
        #: Called with each finished job's record, at the moment it finishes (fuzzing invariants).
        self.after_job: list = []
        self.wire = None
        if config.fidelity == "wire":
            from simulator.wire import WireWorld

            self.wire = WireWorld(self)
        self.ctl = self._new_controller()
        self._configure()
        self._overhead_real = self._calibrate_overhead()
        self.env.process(self._scheduler())
        self.env.process(self._tenants())

    # --- the controller and what it is connected to ----------------------------------------

    def _new_controller(self) -> Controller:
        store_dir = os.path.join(self.workdir, "store")
        os.makedirs(store_dir, mode=0o700, exist_ok=True)
        return Controller(
            Store(store_dir, durable=False), self.clock,
            share_factory=self._share_factory, source_factory=self._source_factory,
            new_id=self._new_id, threads=False, chunk_size=scale.SIM_CHUNK_SIZE,
            info={"stampVersion": self.profile.version,
                  "deploymentID": str(uuid.UUID(int=random.Random(f"dep:{self.config.seed}").getrandbits(128), version=4))},
            maintenance=self.maintenance_reason,
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

    def _calibrate_overhead(self) -> int:
        """Write one backup of today's shape to scratch memory and see what beyond data it stores."""
        from engine.backup_writer import BackupWriter
        from engine.certs import load_certificate

        target = scale.to_real(self.backup_bytes_now())
        sources = {name: role.snapshot(target) for name, role in self.roles.items()}
        storage = ShareStorage(capacity=2**40)
        writer = BackupWriter(MemoryShare(storage, "", "calibration", lambda op: None, lambda: True),
                              load_certificate(self.certs["initial"][0]), uuid.UUID(int=0),
                              self.clock.now(), sources, chunk_size=scale.SIM_CHUNK_SIZE,
                              info=self.ctl.info, threads=False)
        for _ in writer.steps():
            pass
        return writer.stored_bytes - target

    def _new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._id_rng.getrandbits(128), version=4)

    def backup_bytes_now(self) -> int:
        """Modelled size of a backup taken now: the profile's size plus growth."""
        days = self.env.now / DAY
        return int(self.profile.backup_bytes + self.profile.growth_bytes_per_day * days)

    def _source_factory(self, role: str, folder: str) -> RoleSnapshot:
        data_real = scale.to_real(self.backup_bytes_now()) - self._overhead_real - _OVERHEAD_MARGIN
        self._data_real = max(len(ROLES), data_real)
        snapshot = self.roles[role].snapshot(self._data_real)
        self._pending_snapshots[role] = snapshot
        return snapshot

    def _share_factory(self, settings, password):
        unc = parse_unc(settings.path)
        if self.wire is not None:
            return self.wire.share(unc, settings.username, password)
        root = f"{unc.share}/{unc.folder}".strip("/") if unc.folder else unc.share
        return MemoryShare(self.storage, root, str(unc),
                           gate=lambda op: self.gate(op, unc, settings.username, password),
                           encrypted=lambda: self.server.encryption != "off")

    def gate(self, op: str, unc, user: str | None, password: str | None) -> None:
        """Can the controller do ``op`` on the share now? Raises what the SMB client would,
        worded as it words it (engine/share/smb_errors.py), so scenarios read the same at
        either fidelity."""
        now = self.env.now
        host, where = unc.host, str(unc)
        if op == "connect" and (host.lower() != SHARE_HOST or not self.dns.resolves(host)):
            raise ConnectivityError(f"host name {host} does not resolve from the privileged endpoint")
        verdict = self.firewall.verdict(self.active_vm, host, SMB_PORT, now)
        if verdict == "reject" or not self.server.up:
            raise ConnectivityError(f"{where}: cannot connect (Connection refused) while "
                                    f"connecting to port {SMB_PORT}")
        if verdict == "drop":
            raise ConnectivityError(f"{where}: server did not answer within "
                                    f"{self.ctl.settings.smb_timeout} s while connecting to port "
                                    f"{SMB_PORT}")
        if op == "connect":
            if DIALECTS.index(self.server.max_dialect) < DIALECTS.index("3.0"):
                raise ConnectivityError(f"{where}: server offered SMB {self.server.max_dialect}, "
                                        "but SMB 3.0 or later is required")
            if user is None or self.server.users.get(user) != password:
                raise AuthenticationError(f"{where}: logon failure (unknown user or wrong "
                                          "password) while logging on")
            if unc.share not in self.server.shares:
                raise PathFaultError(f"{where}: share {unc.share} does not exist on {host}")

    def maintenance_reason(self) -> str | None:
        now = self.env.now
        for start, end, kind in self.maintenance_windows:
            if start <= now < end:
                return f"an {kind} operation" if kind == "update" else f"a {kind} operation"
        return None

    # --- processes --------------------------------------------------------------------------

    def _scheduler(self) -> Generator[simpy.Event, Any, None]:
        while True:
            slot = self.ctl.next_slot()
            wait = HOUR if slot is None else max(0.0, (slot - self.clock.now()).total_seconds())
            self._wake = self.env.event()
            yield self.env.timeout(wait) | self._wake
            outcome = self.ctl.start_scheduled()
            if isinstance(outcome, Job):
                yield from self.drive(outcome)
            elif isinstance(outcome, BackupRecord):
                self.log.add(self.env.now, "backup skipped", id=outcome.id,
                             reason="; ".join(outcome.warnings))

    def wake_scheduler(self) -> None:
        if not self._wake.triggered:
            self._wake.succeed()

    def _tenants(self) -> Generator[simpy.Event, Any, None]:
        names = sorted(self.roles)
        while True:
            yield self.env.timeout(self.rng.expovariate(1 / (self.config.tenant_change_every_hours * HOUR)))
            self.roles[self.rng.choice(names)].change(self.rng)

    def request_backup(self) -> simpy.Process:
        return self.env.process(self._on_demand())

    def _on_demand(self) -> Generator[simpy.Event, Any, None]:
        try:
            job = self.ctl.start_backup("OnDemand")
        except IbsError as exc:
            self.log.add(self.env.now, "on-demand refused", reason=str(exc), exitCode=exc.exit_code)
            return
        yield from self.drive(job)

    def drive(self, job: Job) -> Generator[simpy.Event, Any, None]:
        """Run a job step by step in virtual time; a failure of its ERCS VM kills it."""
        vm = self.active_vm
        record = job.record
        self.job_running = record.id
        self._pending_snapshots = {}
        self.log.add(self.env.now, "backup started", id=record.id, trigger=record.trigger, vm=vm)
        steps = job.steps()
        self._running = (job, steps)
        done = 0
        first = True
        while True:
            try:
                progress = next(steps)
            except StopIteration:
                break
            if first:
                first = False
                self.snapshots[record.id] = dict(self._pending_snapshots)
                yield self.env.timeout(self.config.role_overhead_seconds * len(self._pending_snapshots))
            moved = scale.to_modelled(progress.done_bytes - done)
            done = progress.done_bytes
            yield self.env.timeout(self.link.transfer_seconds(moved))
            self._sample()
            if not self.ercs_up[vm] or self._crash_requested:
                job.kill()
                steps.close()
                self._running = None
                self.job_running = None
                self.log.add(self.env.now, "controller crashed", id=record.id, vm=vm)
                if self._crash_requested:
                    self._restart_controller()
                else:
                    self._failover()
                return
        self.job_running = None
        self._running = None
        if record.status == "Succeeded":
            self._overhead_real = record.sizeBytes - self._data_real
        if record.status == "Succeeded" and record.id not in self.snapshots:
            self.snapshots[record.id] = dict(self._pending_snapshots)
        self._sample()
        fields: dict[str, Any] = {"id": record.id, "status": record.status,
                                  "sizeBytes": scale.to_modelled(record.sizeBytes)}
        if record.error:
            fields["category"] = record.error["category"]
            fields["message"] = record.error["message"]
        self.log.add(self.env.now, "backup finished", **fields)
        for observer in self.after_job:
            observer(record)

    def cert_for(self, thumbprint: str | None) -> str | None:
        """The name of the uploaded certificate with this thumbprint, if the run made it."""
        from engine.certs import thumbprint as thumbprint_of

        return next((name for name, (cer, _pfx, _pw) in self.certs.items()
                     if thumbprint_of(cer) == thumbprint), None)

    def budget_bytes(self) -> int:
        """REFERENCE.md: per-backup size x (24 / frequency hours) x retention days, as set now."""
        settings = self.ctl.settings
        return self.profile.backup_bytes * 24 * settings.retention_days // settings.frequency_hours

    def _sample(self) -> None:
        used = self.share_used_bytes()
        if used > self.peak_bytes:
            self.peak_bytes = used
            # The policy can change during a run: a peak is judged by the budget of its moment.
            self.peak_budget_bytes = self.budget_bytes()
        if used != self.occupancy[-1][1]:
            self.occupancy.append((self.env.now, used))

    def storage_root(self) -> str:
        """The configured folder's path inside the in-memory file server."""
        return f"{SHARE_NAME}/{SHARE_FOLDER}"

    def share_used_bytes(self) -> int:
        """Modelled bytes on the share now."""
        if self.wire is not None:
            return scale.to_modelled(self.wire.used_bytes())
        return scale.to_modelled(self.storage.used - self.storage.filler)

    # --- ERCS VMs ---------------------------------------------------------------------------

    def fail_ercs(self, vm: str) -> None:
        _check_vm(vm)
        self.ercs_up[vm] = False
        self.log.add(self.env.now, "ercs down", vm=vm)
        if vm == self.active_vm and self.job_running is None:
            self._failover()

    def restore_ercs(self, vm: str) -> None:
        _check_vm(vm)
        self.ercs_up[vm] = True
        self.log.add(self.env.now, "ercs up", vm=vm)

    def failover_to(self, vm: str) -> None:
        _check_vm(vm)
        self.active_vm = vm
        self.ctl = self._new_controller()
        self.log.add(self.env.now, "controller failover", vm=vm)
        if self.wire is not None:
            self.wire.sync()
        self.wake_scheduler()

    def crash_controller(self) -> None:
        """The controller's process dies: at once if idle, else at the running job's next step."""
        if self.job_running is None:
            self.log.add(self.env.now, "controller crashed", id=None, vm=self.active_vm)
            self._restart_controller()
        else:
            self._crash_requested = True

    def _restart_controller(self) -> None:
        self._crash_requested = False
        self.ctl = self._new_controller()
        self.log.add(self.env.now, "controller restarted", vm=self.active_vm)
        self.wake_scheduler()

    def _failover(self) -> None:
        for vm in ERCS_VMS[ERCS_VMS.index(self.active_vm) + 1:] + ERCS_VMS:
            if self.ercs_up[vm] and vm != self.active_vm:
                self.failover_to(vm)
                return
        self.log.add(self.env.now, "no ERCS VM left for the controller")

    # --- running ----------------------------------------------------------------------------

    def run(self, days: float) -> None:
        self.env.run(until=days * DAY)

    def close(self) -> None:
        if self._running is not None:  # the run ended mid-job: stop it as the clock stops
            job, steps = self._running
            job.kill()
            steps.close()
            self._running = None
        if self.wire is not None:
            self.wire.close()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def initial_share_password(seed: int) -> str:
    """The share account's password at the start of a run with ``seed``."""
    return f"pw-{seed}-{random.Random(f'share-password:{seed}').getrandbits(48):012x}"


def _check_vm(vm: str) -> None:
    if vm not in ERCS_VMS:
        raise BadInput(f"ERCS VM must be one of {', '.join(ERCS_VMS)}, not {vm!r}")


def _scratch() -> str | None:
    # Scratch state in memory where the machine has it: a simulated year saves thousands of files.
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
