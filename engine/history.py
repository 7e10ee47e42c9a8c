"""The job history: one record per backup job, kept in the store, named as the REST model.

A record is saved at every status change, so a restart (or a crash) finds the history as it
was; a record left Queued or Running by a dead process is marked Failed on the next start.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.jobstate import Status, transition
from engine.store import Store

BACKUP_DATA_VERSION = "1.0.1"


@dataclass
class BackupRecord:
    id: str
    status: str
    trigger: str  # "OnDemand" or "Scheduled"
    createdDateTime: str
    timeTakenToCreate: str | None = None
    completedDateTime: str | None = None
    encryptionCertThumbprint: str | None = None
    roleStatus: list[dict[str, str]] = field(default_factory=list)
    transferEncrypted: bool | None = None
    sizeBytes: int = 0  # stored on the share
    dataBytes: int = 0  # file contents of the roles backed up
    location: str | None = None
    error: dict[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    backupDataVersion: str = BACKUP_DATA_VERSION
    stampVersion: str | None = None
    deploymentID: str | None = None
    oemVersion: str | None = None
    isCloudRecoveryReady: bool = False
    deletedDateTime: str | None = None
    pid: int | None = None

    def move_to(self, status: Status) -> None:
        self.status = transition(Status(self.status), status).value

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("pid")
        return out


class History:
    """Job records, one JSON file each under ``jobs/``, cached in memory.

    Records are replaced by rename, which changes the folder's modification time, so the cache
    is reloaded whenever another process (a CLI call beside the daemon) has saved one.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._folder = store.path("jobs")
        self._cache: dict[str, BackupRecord] = {}
        self._stamp: int | None = None

    def _folder_stamp(self) -> int:
        return os.stat(self._folder).st_mtime_ns

    def _load(self) -> dict[str, BackupRecord]:
        stamp = self._folder_stamp()
        if stamp != self._stamp:
            self._cache = {raw["id"]: BackupRecord(**raw) for raw in self._store.list_json("jobs")}
            self._stamp = stamp
        return self._cache

    def save(self, record: BackupRecord) -> None:
        known = self._stamp == self._folder_stamp()
        self._store.write_json(f"jobs/{record.id}.json", asdict(record))
        if known:  # nobody else wrote since we loaded: our cache plus this record is current
            self._cache[record.id] = BackupRecord(**asdict(record))
            self._stamp = self._folder_stamp()

    def all(self) -> list[BackupRecord]:
        """Every record, oldest first. Treat them as read-only: change a record from ``get``."""
        return sorted(self._load().values(), key=lambda r: (r.createdDateTime, r.id))

    def get(self, backup_id: str) -> BackupRecord | None:
        record = self._load().get(backup_id)
        return BackupRecord(**asdict(record)) if record else None
