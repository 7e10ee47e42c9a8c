"""The backup controller: settings, the one job slot, jobs, retention and alerts; the schedule
is engine/schedule.py, which the controller owns and whose questions it answers for its callers.

One code path for every caller: the CLI, the daemon, the REST provider and the simulator all
drive this class. Time comes from the injected clock; a job advances one chunk per step, so
whoever drives it decides what happens between two steps.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ibs.engine import retention
from ibs.engine.alerts import AlertBook
from ibs.engine.backup_reader import BackupReader, verify_role
from ibs.engine.certs import Certificate, DecryptionKey, load_certificate
from ibs.engine.chunks import DEFAULT_CHUNK_SIZE
from ibs.engine.clock import Clock
from ibs.engine.errors import (
    AlertCategory,
    BadInput,
    JobSlotTaken,
    MaintenanceInProgress,
    ShareError,
)
from ibs.engine.history import BackupRecord, History
from ibs.engine.job import SOURCE_ESTIMATE_MARGIN, Job
from ibs.engine.jobstate import ACTIVE, Status
from ibs.engine.manifest import format_time
from ibs.engine.recovery import Found, complete_on_share, settle_completed
from ibs.engine.restore import restore_roles
from ibs.engine.schedule import Schedule
from ibs.engine.settings import (
    SETTINGS_FILE,
    Settings,
    check_frequency,
    check_path,
    check_port,
    check_retention,
    check_smb_timeout,
    check_sources,
    read_settings,
    read_settings_json,
)
from ibs.engine.share import LocalShare, Share
from ibs.engine.source import DirectorySource, RoleSource
from ibs.engine.store import Store

ShareFactory = Callable[[Settings, "str | None"], Share]
SourceFactory = Callable[[str, str], RoleSource]


def default_share_factory(settings: Settings, password: str | None) -> Share:
    from ibs.engine.share.unc import is_unc

    assert settings.path is not None
    if is_unc(settings.path):
        from ibs.engine.share.smb import SmbShare

        # A stalled server must fail the job in bounded time (smbprotocol alone waits ~20 min).
        return SmbShare(settings.path, settings.username, password, port=settings.smb_port,
                        connect_timeout=min(10, settings.smb_timeout),
                        request_timeout=settings.smb_timeout)
    return LocalShare(settings.path)


@dataclass
class ConfigResult:
    settings: Settings
    pruned: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Controller:
    def __init__(self, store: Store, clock: Clock, *,
                 share_factory: ShareFactory = default_share_factory,
                 source_factory: SourceFactory = lambda role, folder: DirectorySource(folder),
                 new_id: Callable[[], uuid.UUID] = uuid.uuid4,
                 threads: bool = True, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 info: dict[str, str] | None = None,
                 maintenance: Callable[[], str | None] = lambda: None,
                 space_margin: int = SOURCE_ESTIMATE_MARGIN,
                 shown_bytes: Callable[[int], int] = lambda n: n) -> None:
        self.store = store
        self.clock = clock
        self.share_factory = share_factory
        self.source_factory = source_factory
        self.new_id = new_id
        self.threads = threads
        self.chunk_size = chunk_size
        self.info = dict(info or {})
        self.maintenance = maintenance
        #: Room beyond the sources' size the first backup must find free on the share.
        self.space_margin = space_margin
        #: The share's bytes as people read them (a simulation shows its modelled sizes).
        self.shown_bytes = shown_bytes
        self.history = History(store)
        self.slot = store.job_slot()
        self.creation_times = retention.CreationTimes()
        self._settings_seen: tuple[int | None, Settings] | None = None
        self.schedule = Schedule(self)
        # A private store's revisions say when a file changed: until then what was read from
        # it stands.
        self._password_seen: tuple[int | None, str | None] = (None, None)
        self._cert_seen: tuple[bytes, Certificate] | None = None  # the stored .cer, parsed
        self._alerts_seen: tuple[int, Any] | None = None  # (revision, JSON) of alerts.json

    # --- settings ------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        revision = self.store.revision("settings.json")
        seen = self._settings_seen
        if revision is not None and seen is not None and seen[0] == revision:
            return seen[1]  # Settings are frozen: safe to share
        settings = read_settings(self.store)
        if revision is not None:
            self._settings_seen = (revision, settings)
        return settings

    def stored_certificate(self, der: bytes) -> Certificate:
        """The stored encryption certificate, parsed and checked once per distinct .cer (every
        backup needs it; a simulated year parsed it 729 times)."""
        seen = self._cert_seen
        if seen is None or seen[0] != der:
            seen = self._cert_seen = (der, load_certificate(der, "stored encryption certificate"))
        return seen[1]

    def share_password(self) -> str | None:
        """The stored share password, decrypted (for the share factory; never shown)."""
        revision = self.store.revision(SETTINGS_FILE)
        if revision is not None and self._password_seen[0] == revision:
            return self._password_seen[1]
        sealed = read_settings_json(self.store).get("password")
        password = self.store.open_password(sealed) if sealed else None
        if revision is not None:
            self._password_seen = (revision, password)
        return password

    def configure(self, **changes: object) -> ConfigResult:
        """Validate every change first; store them all or none, with no other change between
        this one's read and write (threads and processes alike)."""
        with self.store.locked(SETTINGS_FILE):
            return self._configure(**changes)  # type: ignore[arg-type]

    def _configure(self, *, path: str | None = None, smb_port: int | None = None,
                  smb_timeout: int | None = None,
                  username: str | None = None, password: str | None = None,
                  cert: bytes | None = None, frequency_hours: int | None = None,
                  retention_days: int | None = None, scheduler: bool | None = None,
                  sources: dict[str, str] | None = None,
                  clear: tuple[str, ...] = ()) -> ConfigResult:
        """``clear`` names settings to unset ("path", "cert": the REST API's BlankPut)."""
        old = self.settings
        raw = dict(read_settings_json(self.store))
        if path is not None:
            raw["path"] = check_path(path)
        if smb_port is not None:
            raw["smbPort"] = check_port(smb_port)
        if smb_timeout is not None:
            raw["smbTimeoutSeconds"] = check_smb_timeout(smb_timeout)
        if username is not None:
            raw["userName"] = username or None
        if "path" in clear:
            raw.pop("path", None)
        if "cert" in clear:
            raw.pop("encryptionCert", None)
            raw.pop("encryptionCertThumbprint", None)
        if cert is not None:
            parsed: Certificate = load_certificate(cert, "encryption certificate")
            raw["encryptionCert"] = base64.b64encode(parsed.der).decode("ascii")
            raw["encryptionCertThumbprint"] = parsed.thumbprint
        if frequency_hours is not None:
            raw["backupFrequencyInHours"] = check_frequency(frequency_hours)
        if retention_days is not None:
            raw["backupRetentionPeriodInDays"] = check_retention(retention_days)
        if scheduler is not None:
            raw["isBackupSchedulerEnabled"] = bool(scheduler)
        if sources is not None:
            raw["sources"] = check_sources(sources)
        if password is not None:
            raw["password"] = self.store.seal_password(password) if password else None
        self.store.write_json("settings.json", raw)
        new = self.settings
        result = ConfigResult(new)
        self.schedule.reschedule(old, new)
        if old.configured and new.retention_days < old.retention_days:
            try:
                result.pruned = self.prune()
            except (ShareError, JobSlotTaken) as exc:
                result.warnings.append(
                    f"retention lowered, but old backups could not be deleted now ({exc}); "
                    "the next backup will delete them")
        return result

    def location(self) -> dict[str, object]:
        """The settings as the REST model's externalStoreDefault names them, secrets as null."""
        s = self.settings
        nxt = self.next_backup_time()
        done = [r for r in self.history.all() if r.status in ("Succeeded", "PartialSucceeded")]
        return {
            "path": s.path, "smbPort": s.smb_port, "smbTimeoutSeconds": s.smb_timeout,
            "userName": s.username, "password": None,
            "encryptionCertThumbprint": s.cert_thumbprint,
            "backupFrequencyInHours": s.frequency_hours,
            "backupRetentionPeriodInDays": s.retention_days,
            "isBackupSchedulerEnabled": s.scheduler,
            "sources": s.sources,
            "nextBackupTime": nxt.strftime("%Y-%m-%dT%H:%M:%SZ") if nxt else None,
            "lastBackupTime": done[-1].createdDateTime if done else None,
            "store": self.store.root,
        }

    def share(self) -> Share:
        settings = self.settings
        if settings.path is None:
            raise BadInput("no storage location is set; run 'ibs config set --path ...' first")
        return self.share_factory(settings, self.share_password())

    # --- schedule (engine/schedule.py; the daemon, the hub and the job ask these) --------

    def next_slot(self) -> dt.datetime | None:
        return self.schedule.next_slot()

    def next_backup_time(self) -> dt.datetime | None:
        return self.schedule.next_backup_time()

    def start_scheduled(self) -> Job | BackupRecord | None:
        return self.schedule.start_scheduled()

    def skip_slots_passed(self, running: BackupRecord) -> list[BackupRecord]:
        return self.schedule.skip_slots_passed(running)

    # --- jobs ----------------------------------------------------------------------------

    def new_record(self, trigger: str, at: dt.datetime | None = None) -> BackupRecord:
        """A Queued record of this deployment: a backup starting, or a slot to record Skipped."""
        record = BackupRecord(id=str(self.new_id()), status=Status.QUEUED.value, trigger=trigger,
                              createdDateTime=format_time(at or self.clock.now()), pid=os.getpid())
        record.stampVersion = self.info.get("stampVersion")
        record.deploymentID = self.info.get("deploymentID")
        record.oemVersion = self.info.get("oemVersion")
        return record

    def start_backup(self, trigger: str = "OnDemand") -> Job:
        """Take the one job slot and queue a backup; ``JobSlotTaken`` if a job holds it."""
        settings = self.settings
        if not settings.configured:
            raise BadInput(f"backup is not configured: set {' and '.join(settings.missing())} "
                           "with 'ibs config set'")
        if not settings.sources:
            raise BadInput("no role sources are set: add them with 'ibs config set --source ROLE=DIR'")
        if trigger == "OnDemand" and (reason := self.maintenance()) is not None:
            raise MaintenanceInProgress(f"on-demand backups are refused during {reason}")
        self.slot.acquire()
        try:
            self._fail_interrupted()
            record = self.new_record(trigger)
            self.history.save(record)
        except BaseException:
            self.slot.release()
            raise
        return Job(self, record, settings)

    def _fail_interrupted(self) -> None:
        """Settle the jobs left Queued or Running by a process that died. Needs the slot.

        A Running job may have died after its backup was complete on the share: the share is
        asked (engine.recovery), and such a job is recorded as its backup is. Every other one
        is Failed.
        """
        stale = [self.history.get(s.id) for s in self.history.unfinished()]
        running = [r.id for r in stale if r is not None and r.status == Status.RUNNING.value]
        found, unchecked = self._find_complete(running) if running else ({}, None)
        now = format_time(self.clock.now()) if stale else ""  # none at almost every start
        for record in stale:
            assert record is not None
            if record.id in found:
                settle_completed(record, found[record.id], list(self.settings.sources), now)
                self.history.save(record)
                continue
            message = "the job was interrupted (its process ended)"
            if unchecked and record.id in running:
                message += f"; the share could not be checked for its backup: {unchecked}"
            record.move_to(Status.FAILED)
            record.error = {"category": AlertCategory.GENERAL_FAULT.value, "message": message}
            record.completedDateTime = now
            record.progress = None
            self.history.save(record)

    def _find_complete(self, backup_ids: list[str]) -> tuple[dict[str, Found], str | None]:
        """Those of ``backup_ids`` complete on the share, or why the share could not say."""
        try:
            with self.share() as share:
                found = {i: f for i in backup_ids if (f := complete_on_share(share, i)) is not None}
        except (ShareError, BadInput) as exc:
            return {}, str(exc)
        return found, None

    # --- queries -------------------------------------------------------------------------

    def backups(self) -> list[BackupRecord]:
        records = self.history.all()
        if any(Status(r.status) in ACTIVE for r in records) and not self.slot.held:
            try:
                self.slot.acquire()
            except JobSlotTaken:
                return records  # a live job: its records are right
            try:
                self._fail_interrupted()
            finally:
                self.slot.release()
            records = self.history.all()
        return records

    def backup_record(self, backup_id: str) -> BackupRecord:
        try:
            key = str(uuid.UUID(backup_id))
        except ValueError:
            raise BadInput(f"{backup_id!r} is not a backup id (a GUID)") from None
        for record in self.backups():
            if record.id == key:
                return record
        raise BadInput(f"no backup with id {key}; see 'ibs backup list'")

    def alert_book(self) -> AlertBook:
        # Every job ends by reading the book: a private store's revision says whether the JSON
        # read (and checked) or saved last still stands; the book is made afresh from it.
        revision = self.store.revision("alerts.json")
        seen = self._alerts_seen
        if revision and seen is not None and seen[0] == revision:
            return AlertBook.from_saved(seen[1])
        raw = self.store.read_json("alerts.json", [])
        book = AlertBook.from_json(raw, self.store.path("alerts.json"))
        self._alerts_seen = (revision, raw) if revision else None
        return book

    def save_alerts(self, book: AlertBook) -> None:
        raw = book.to_json()
        self.store.write_json("alerts.json", raw)
        # What the store holds now: JSON of str, int and None, which reads back as written.
        revision = self.store.revision("alerts.json")
        self._alerts_seen = (revision, raw) if revision else None

    # --- retention -----------------------------------------------------------------------

    def remember_created(self, share: Share, backup_id: str, created: dt.datetime) -> None:
        """A backup this controller has just committed, with its manifest's creation time:
        retention knows its age without reading the manifest back."""
        self.creation_times.remember(share, backup_id, created)

    def prune(self, dry_run: bool = False) -> list[str]:
        """Delete (or list) backups past retention and leftovers; the newest Succeeded stays."""
        # Always taken, never assumed: while a job of this very controller runs (a daemon, a
        # simulation) its partial folder looks like a leftover, and pruning deleted it mid-write.
        self.slot.acquire()
        try:
            with self.share() as share:
                return self.prune_on(share, dry_run)
        finally:
            self.slot.release()

    def prune_on(self, share: Share, dry_run: bool = False) -> list[str]:
        """Retention on an open share, the caller holding the job slot (a job does, after it
        commits): the expired backups and leftovers, deleted unless ``dry_run``."""
        now = self.clock.now()
        paths = retention.plan(share, self.creation_times, self.history, now,
                               self.settings.retention_days)
        if paths and not dry_run:
            retention.apply(share, paths, self.history, format_time(now))
        return [retention.shown(share, p) for p in paths]

    # --- reading backups back ------------------------------------------------------------

    def verify(self, backup_id: str, key: DecryptionKey,
               on_bytes: Callable[[int], None] = lambda n: None) -> dict[str, tuple[int, int]]:
        with self.share() as share:
            reader = BackupReader(share, backup_id)
            reader.unlock(key)
            result = {}
            for role in reader.manifest.roles:
                result[role.name] = verify_role(reader, role.name)
                on_bytes(role.fileBytes)
            return result

    def restore(self, backup_id: str, key: DecryptionKey, target: str, role: str | None = None,
                on_bytes: Callable[[int], None] = lambda n: None) -> list[str]:
        with self.share() as share:
            reader = BackupReader(share, backup_id)
            roles = [role] if role else [r.name for r in reader.manifest.roles]
            for name in roles:
                reader.role(name)
            reader.unlock(key)
            return restore_roles(reader, roles, target, on_bytes, threads=self.threads)
