"""The provider: what each Microsoft.Backup.Admin operation does, with no HTTP in sight.

``app`` maps requests onto these methods; tests may call them directly. Every method calls the
controller exactly as the CLI does; engine errors become ARM errors in ``app``: ``BadInput``
400, unknown backup 404, ``JobSlotTaken`` and ``MaintenanceInProgress`` 409, a share fault 503
(code = the alert category). Long-running methods answer :class:`Accepted`: the operation and
the body the specification's examples show with the 202.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ibs.engine.certs import load_pfx
from ibs.engine.cli.ids import AmbiguousId, resolve_id
from ibs.engine.clock import Clock, SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import (
    BadInput,
    CertificateError,
    IbsError,
    JobSlotTaken,
    MaintenanceInProgress,
    ShareError,
)
from ibs.engine.job import Job
from ibs.engine.rp import arm
from ibs.engine.rp.auth import TokenCheck
from ibs.engine.rp.models import ExternalStore, RestoreOptions
from ibs.engine.rp.operations import Operation, Operations, Outcome
from ibs.engine.settings import (
    DEFAULT_FREQUENCY_HOURS,
    DEFAULT_RETENTION_DAYS,
    parse_source,
    read_settings_json,
)
from ibs.engine.store import Store
from ibs.engine.units import human_bytes

CAPACITY_TTL = 15.0  # seconds a share's free space is reused before it is asked again


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


@dataclass
class Accepted:
    """A long-running operation started (or done at once): 202 with this body, then polling."""

    operation: Operation
    body: Any = None


class Api:
    """One provider over one store. Thread-safe: each request gets its own Controller, so the
    job slot (a flock per open file) keeps two jobs apart here just as between processes.

    ``base_url`` is where clients reach this provider (the polling URLs are built from it,
    never from a request's Host header); ``sources`` are role sources configured with the
    provider (``--source``), used when the store has none, and ``smb_port`` the share's port
    (``--smb-port``) when the store has none, so a client that sends the specification's fields
    only can start a backup.
    """

    def __init__(self, store_dir: str, token: TokenCheck, *, restore_root: str | None = None,
                 clock: Clock | None = None,
                 controller_factory: Callable[[Store, Clock], Controller] | None = None,
                 log: Callable[[str], None] = lambda line: None,
                 base_url: str = "", sources: dict[str, str] | None = None,
                 smb_port: int | None = None) -> None:
        self.store = Store(store_dir)
        self.token = token
        self.clock = clock or SystemClock()
        self.restore_root = os.path.abspath(restore_root or self.store.path("restores"))
        self._make_controller = controller_factory or (lambda store, clock: Controller(store, clock))
        self.log = log
        self.base_url = base_url.rstrip("/")
        self.sources = dict(sources or {})
        self.smb_port = smb_port
        self.operations = Operations(self.store, self.clock, self._crash_outcome, self._settle)
        self._jobs: dict[str, Job] = {}  # backups running in this process, for their progress
        self._lock = threading.Lock()
        # Settings changes one at a time: each is a read-modify-write of the whole settings.
        self._configuring = threading.Lock()
        self._capacity: tuple[tuple[Any, ...], float, str | None] | None = None
        self._readers = threading.local()

    def controller(self) -> Controller:
        return self._make_controller(self.store, self.clock)

    def reader(self) -> Controller:
        """A controller for reads, one per thread and kept: its job history stays loaded
        between requests (re-read only when another writer changed it). Never one that
        starts a job: a job keeps its controller's slot while it runs."""
        ctl = getattr(self._readers, "controller", None)
        if ctl is None:
            ctl = self._readers.controller = self.controller()
        return ctl

    @staticmethod
    def status_of(exc: IbsError) -> tuple[int, str]:
        if isinstance(exc, CertificateError):
            return 400, "InvalidCertificate"
        if isinstance(exc, BadInput):
            return 400, "BadRequest"
        if isinstance(exc, JobSlotTaken):
            return 409, "JobSlotTaken"
        if isinstance(exc, MaintenanceInProgress):
            return 409, "MaintenanceInProgress"
        if isinstance(exc, ShareError):
            return 503, exc.category.value
        return 500, type(exc).__name__

    def _crash_outcome(self, exc: Exception) -> Outcome:
        if isinstance(exc, IbsError):
            status, code = self.status_of(exc)
            message = str(exc)
        else:
            status, code, message = 500, "InternalError", f"internal error: {type(exc).__name__}"
            self.log(f"ibs serve-rp: {message} in a long-running operation")
        error = {"code": code, "message": message}
        return Outcome(status, {"error": error}, error)

    def _settle(self, op: Operation) -> Outcome | None:
        """The answer of an operation a previous process left running (see operations)."""
        if op.kind != "CreateBackup" or op.backupId is None or op.outcome is not None:
            return None
        record = self.controller().history.get(op.backupId)
        if record is None or record.status in ("Queued", "Running", "Creating"):
            return None
        return _backup_outcome(record, _DEFAULT_BASE)

    def poll_urls(self, base: str, op: Operation, version: str) -> dict[str, str]:
        # Never from the Host header: a client names a host, the provider says where it is.
        prefix = f"{self.base_url or 'http://127.0.0.1'}{base}/backupLocations/{arm.LOCATION}"
        return {
            "Azure-AsyncOperation": f"{prefix}/operationStatuses/{op.id}?api-version={version}",
            "Location": f"{prefix}/operationResults/{op.id}?api-version={version}",
            "Retry-After": "1",
        }

    # --- operations and the backup location -------------------------------------------------

    def list_operations(self) -> dict[str, Any]:
        return arm.operations_list()

    def capacity(self, ctl: Controller) -> str | None:
        """The share's free space ("29.6 TB"), or None when it cannot be reached now."""
        s = ctl.settings
        if s.path is None:
            return None
        key = (s.path, s.username, s.smb_port)
        now = time.monotonic()
        cached = self._capacity
        if cached is not None and cached[0] == key and now - cached[1] < CAPACITY_TTL:
            return cached[2]
        try:
            with ctl.share() as share:
                value: str | None = human_bytes(share.free_space())
        except (IbsError, OSError):
            value = None
        self._capacity = (key, now, value)
        return value

    def location(self, base: str, ctl: Controller | None = None) -> dict[str, Any]:
        ctl = ctl or self.controller()
        return arm.location_resource(ctl, base, self.capacity(ctl))

    def list_locations(self, base: str, top: int | None = None, skip: int = 0) -> dict[str, Any]:
        return {"value": page([self.location(base)], top, skip)}

    def configure(self, base: str, store: ExternalStore | None, *, replace: bool) -> Accepted:
        """PUT (``replace``) or PATCH: validate all, store all or nothing, answer at once."""
        changes = settings_changes(store or ExternalStore(), replace=replace)
        ctl = self.controller()
        if self.smb_port is not None and "smb_port" not in changes \
                and "smbPort" not in read_settings_json(self.store):
            changes["smb_port"] = self.smb_port  # the provider's own, until a client sets one
        with self._configuring:
            result = ctl.configure(**changes)  # validation errors answer 400 right away
            self._capacity = None
            resource = self.location(base, ctl)
        for warning in result.warnings:
            self.log(f"ibs serve-rp: warning: {warning}")
        if result.pruned:
            resource["properties"]["prunedPaths"] = result.pruned
        op = self.operations.done("UpdateBackupLocation", Outcome(200, resource))
        return Accepted(op, resource)

    # --- backups -------------------------------------------------------------------------

    def create_backup(self, base: str) -> Accepted:
        ctl = self.controller()
        if self.sources and not ctl.settings.sources:
            # The provider's own sources, for a client that sends the specification's fields
            # only; stored like any setting, so the CLI and the schedule see them too.
            with self._configuring:
                if not ctl.settings.sources:
                    ctl.configure(sources=self.sources)
        job = ctl.start_backup("OnDemand")  # 400 / 409 right away; the slot is now held
        record = job.record
        with self._lock:
            self._jobs[record.id] = job

        def work() -> Outcome:
            try:
                done = job.run()
            finally:
                with self._lock:
                    self._jobs.pop(record.id, None)
                self._capacity = None
            self.log(f"ibs serve-rp: backup {done.id} {done.status}"
                     + (f": {done.error['message']}" if done.error else ""))
            return _backup_outcome(done, base)

        op = self.operations.start("CreateBackup", work, backup_id=record.id)
        return Accepted(op, arm.backup_resource(record, base))

    def prune(self, operation_type: str) -> dict[str, Any]:
        paths = self.controller().prune(dry_run=operation_type == "DryRun")
        return {"properties": {"pathsToDelete": paths}}

    def progress(self, backup_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(backup_id)
        p = job.progress if job is not None else None
        if p is not None:
            role, done, total = p.role, p.done_bytes, p.total_bytes
        else:
            # A job another process runs (the CLI, the daemon) saves its progress as it goes.
            record = self.reader().history.get(backup_id)
            if record is None or not record.progress:
                return None
            role, done, total = (record.progress["role"], record.progress["doneBytes"],
                                 record.progress["totalBytes"])
        percent = min(99.0, 100.0 * done / total) if total else None
        return {"role": role, "doneBytes": done, "totalBytes": total,
                "percent": None if percent is None else round(percent, 1)}

    def list_backups(self, base: str, top: int | None = None, skip: int = 0) -> dict[str, Any]:
        records = page(list(reversed(self.reader().backups())), top, skip)
        return {"value": [arm.backup_resource(r, base, self._progress_of(r)) for r in records]}

    def _progress_of(self, record) -> dict[str, Any] | None:
        return self.progress(record.id) if record.status in ("Queued", "Running") else None

    def _record(self, ctl: Controller, name: str):
        """The backup ``name`` names: its id, or a unique start of it, as the CLI takes (an
        extension: the answer names the whole id, so a client keeps using that)."""
        try:
            whole = resolve_id(name, (r.id for r in ctl.backups()),
                               listing="GET backupLocations/local/backups")
            return ctl.backup_record(whole)
        except AmbiguousId as exc:
            raise ApiError(400, "AmbiguousBackupId", str(exc)) from None
        except BadInput as exc:
            raise ApiError(404, "NotFound", str(exc)) from None

    def get_backup(self, base: str, name: str) -> dict[str, Any]:
        record = self._record(self.reader(), name)
        return arm.backup_resource(record, base, self._progress_of(record))

    def restore(self, base: str, name: str, options: RestoreOptions | None) -> Accepted:
        ctl = self.controller()
        record = self._record(ctl, name)
        options = options or RestoreOptions()
        role = options.roleName or None
        if not options.decryptionCertBase64:
            raise BadInput("decryptionCertBase64 is required: the .pfx that decrypts this backup")
        pfx = _b64("decryptionCertBase64", options.decryptionCertBase64, "the .pfx")
        key = load_pfx(pfx, options.decryptionCertPassword, "decryptionCertBase64")  # memory only
        del pfx, options
        target = self._restore_target(record.id)

        def work() -> Outcome:
            try:
                restored = ctl.restore(record.id, key, target, role)
            except BaseException:
                try:
                    os.rmdir(target)  # leave no empty folder behind a refused restore
                except OSError:
                    pass
                raise
            self.log(f"ibs serve-rp: restored backup {record.id} into {target}")
            return Outcome(200, {"id": f"{base}/backupLocations/{arm.LOCATION}/backups/{record.id}",
                                 "backupId": record.id, "roleName": role or "",
                                 "target": target, "restored": restored})

        return Accepted(self.operations.start("RestoreBackup", work))

    def _restore_target(self, backup_id: str) -> str:
        os.makedirs(self.restore_root, mode=0o700, exist_ok=True)
        n = 1
        while True:
            target = os.path.join(self.restore_root, f"{backup_id}-{n}")
            try:
                os.mkdir(target, 0o700)  # reserves the number, even against a parallel restore
                return target
            except FileExistsError:
                n += 1

    # --- polling ---------------------------------------------------------------------------

    def operation(self, op_id: str) -> Operation:
        op = self.operations.get(op_id)
        if op is None:
            raise ApiError(404, "NotFound", f"no operation {op_id!r} (finished operations are "
                           "kept for the last 500)")
        return op

    def list_alerts(self, all_alerts: bool = False) -> dict[str, Any]:
        book = self.controller().alert_book()
        alerts = book.alerts if all_alerts else book.active()
        return {"value": [a.to_json() for a in alerts]}


def page(items: list[Any], top: int | None, skip: int) -> list[Any]:
    """OData ``$skip`` then ``$top``."""
    items = items[skip:]
    return items if top is None else items[:top]


# A backup settled after a restart is named under the default subscription: the one it was
# started under is not kept (any subscription reaches the one provider).
_DEFAULT_BASE = arm.base_path("default", f"system.{arm.LOCATION}")


def _backup_outcome(record, base: str) -> Outcome:
    error = None
    if record.status not in ("Succeeded", "PartialSucceeded"):
        err = record.error or {"category": "GeneralFault", "message": record.status}
        error = {"code": err["category"], "message": err["message"]}
    return Outcome(200, arm.backup_resource(record, base), error)


def _b64(name: str, value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error, and a non-ASCII character (a plain ValueError)
        raise BadInput(f"{name} is not valid base64 (give {what}'s bytes, base64-encoded)") from None


def settings_changes(esd: ExternalStore, *, replace: bool) -> dict[str, Any]:
    """``externalStoreDefault`` -> keyword arguments of ``Controller.configure``.

    Read-only fields and nulls are ignored (so a GET, edited, can be PUT back: the write-only
    password reads back null and stays as it is). "" clears path, user name, password and
    certificate (the specification's BlankPut). With ``replace`` (PUT) an absent frequency,
    retention or scheduler switch gets its default; path, credentials, certificate and
    sources are kept when absent.
    """
    out: dict[str, Any] = {}
    clear = tuple(name for name, value in (("path", esd.path), ("cert", esd.encryptionCertBase64))
                  if value == "")
    if clear:
        out["clear"] = clear
    if esd.path:
        out["path"] = esd.path
    if esd.userName is not None:
        out["username"] = esd.userName
    if esd.password is not None:
        out["password"] = esd.password
    if esd.encryptionCertBase64:
        out["cert"] = _b64("encryptionCertBase64", esd.encryptionCertBase64, "the .cer")
    for value, kwarg, default in (
            (esd.backupFrequencyInHours, "frequency_hours", DEFAULT_FREQUENCY_HOURS),
            (esd.backupRetentionPeriodInDays, "retention_days", DEFAULT_RETENTION_DAYS),
            (esd.isBackupSchedulerEnabled, "scheduler", True),
            (esd.smbPort, "smb_port", None), (esd.smbTimeoutSeconds, "smb_timeout", None)):
        if value is not None:
            out[kwarg] = value
        elif replace and default is not None:
            out[kwarg] = default
    if esd.sources is not None:
        out["sources"] = dict(_source(role, folder) for role, folder in esd.sources.items())
    return out


def _source(role: str, folder: str) -> tuple[str, str]:
    if "=" in role:
        raise BadInput(f"role name {role!r} must not contain '='")
    return parse_source(f"{role}={folder}")
