"""The job history: one record per backup job, kept in the store, named as the REST model.

A record is saved at every status change, so a restart (or a crash) finds the history as it
was; a record left Queued or Running by a dead process is marked Failed on the next start.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from ibs.engine.errors import IntegrityError
from ibs.engine.jobstate import ACTIVE, Status, transition_text
from ibs.engine.manifest import parse_time
from ibs.engine.store import Store, record_from_json

BACKUP_DATA_VERSION = "1.0.1"
_GENERATION = "jobs/.generation"
_ACTIVE_VALUES = frozenset(s.value for s in ACTIVE)  # compared with a record's status as saved


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
    #: While Running: {"role", "doneBytes", "totalBytes"}, saved every few MB so that other
    #: processes (the REST provider, `ibs backup show`) can watch the backup being created.
    progress: dict[str, Any] | None = None
    pid: int | None = None

    def move_to(self, status: Status) -> None:
        self.status = transition_text(self.status, status)

    def describe(self) -> str:
        """One line for a person: what the CLI prints after a backup, what the daemon logs."""
        from ibs.engine.units import human_bytes, human_duration, iso_duration_seconds

        line = f"backup {self.id} ({self.trigger}) {self.status}"
        seconds = iso_duration_seconds(self.timeTakenToCreate)
        if seconds is not None:
            line += f" in {human_duration(seconds)}"
        if self.status in ("Succeeded", "PartialSucceeded"):
            line += f", {human_bytes(self.sizeBytes)} at {self.location}"
        if self.error:
            line += f": {self.error['category']}: {self.error['message']}"
        return line

    def copy(self) -> BackupRecord:
        """A copy whose lists can change without touching this one (cheaper than deepcopy)."""
        fields = self.__dict__.copy()
        fields["roleStatus"] = [r.copy() for r in self.roleStatus] if self.roleStatus else []
        fields["warnings"] = self.warnings.copy()
        error, progress = self.error, self.progress
        fields["error"] = error.copy() if error else None
        fields["progress"] = progress.copy() if progress else None
        # Every field is there: no need of __init__'s defaults (a year copies some 4,000).
        copy = object.__new__(BackupRecord)
        copy.__dict__ = fields
        return copy

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("pid")
        return out


class History:
    """Job records, one JSON file each under ``jobs/``, cached in memory.

    Every save also writes ``jobs/.generation`` with a fresh random token, so a reader knows
    its cache is current by reading one small file, whichever process saved last.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, BackupRecord] = {}
        self._ordered: list[BackupRecord] = []  # the cache's records, oldest first
        self._active: set[str] = set()  # ids of the cache's Queued or Running records
        self._token: str | None = None
        self._seen: tuple[int, str | None] | None = None  # (store revision, token) last read

    def _current_token(self) -> str | None:
        # A private store numbers its writes: while the number stands, so does the token, and
        # the controller asks for a record's status once per backup on the share at every prune.
        revision = self._store.revision(_GENERATION)
        if revision and self._seen is not None and self._seen[0] == revision:
            return self._seen[1]
        token = self._store.read_json(_GENERATION)
        if revision:  # 0: not written by this store yet, so the file is the only word
            self._seen = (revision, token)
        return token

    def _load(self) -> dict[str, BackupRecord]:
        token = self._current_token()
        if token is None or token != self._token:
            records = (record_from_json(BackupRecord, raw, path, _wrong_values)
                       for path, raw in self._store.named_json("jobs"))
            self._cache = {r.id: r for r in records}
            self._ordered = sorted(self._cache.values(), key=_order)
            self._active = {r.id for r in self._ordered if Status(r.status) in ACTIVE}
            self._token = token
        return self._cache

    def save(self, record: BackupRecord) -> None:
        current = self._token is not None and self._token == self._current_token()
        # The copy the cache keeps is the store's snapshot too: the cache never changes it.
        copy = record.copy()
        self._store.write_json(f"jobs/{copy.id}.json", copy.__dict__, owned=True)
        token = os.urandom(8).hex()  # secrets.token_hex(8) without its three calls' layers
        self._store.write_json(_GENERATION, token, owned=True)  # a str: nothing can change it
        revision = self._store.revision(_GENERATION)
        if revision:  # what this store has just written is the file: no need to read it back
            self._seen = (revision, token)
        if current:  # nobody else saved since we loaded: the cache plus this record is current
            # Kept in order as it changes: a simulated decade saves tens of thousands of records,
            # and sorting them all at every query made the run quadratic.
            old = self._cache.get(copy.id)
            self._cache[copy.id] = copy
            ordered, key = self._ordered, (copy.createdDateTime, copy.id)
            if old is not None and old.createdDateTime == copy.createdDateTime:
                # Its place stands (a record's time and id do not change); most saves are of
                # the newest record, which is last.
                at = len(ordered) - 1 if ordered[-1] is old else bisect.bisect_left(
                    ordered, key, key=_order)
                ordered[at] = copy
            else:
                if old is not None:
                    ordered.pop(bisect.bisect_left(ordered, _order(old), key=_order))
                if not ordered or _order(ordered[-1]) <= key:
                    ordered.append(copy)
                else:
                    bisect.insort(ordered, copy, key=_order)
            if copy.status in _ACTIVE_VALUES:
                self._active.add(copy.id)
            else:
                self._active.discard(copy.id)
            self._token = token

    def all(self) -> list[BackupRecord]:
        """Every record, oldest first. Treat them as read-only: change a record from ``get``."""
        self._load()
        return list(self._ordered)

    def last_succeeded(self) -> BackupRecord | None:
        """The newest Succeeded record that backed up some data (read-only), or None."""
        self._load()
        succeeded = Status.SUCCEEDED.value
        return next((r for r in reversed(self._ordered)
                     if r.status == succeeded and r.dataBytes > 0), None)

    def unfinished(self) -> list[BackupRecord]:
        """Records still Queued or Running, oldest first (read-only)."""
        cache = self._load()
        return sorted((cache[i] for i in self._active), key=_order)

    def status_of(self, backup_id: str) -> str | None:
        record = self._load().get(backup_id)
        return record.status if record else None

    def statuses_of(self, backup_ids: list[str]) -> list[str | None]:
        """``status_of`` each id, the history read once (a prune asks for every backup)."""
        cache = self._load()
        return [r.status if (r := cache.get(i)) is not None else None for i in backup_ids]

    def get(self, backup_id: str) -> BackupRecord | None:
        record = self._load().get(backup_id)
        return record.copy() if record else None


def _wrong_values(record: BackupRecord) -> str | None:
    """What a stored record holds that no job writes, if anything (its types are checked)."""
    if record.status not in {s.value for s in Status}:
        return f"field 'status' is {record.status!r}, not one of {', '.join(s.value for s in Status)}"
    try:
        parse_time(record.createdDateTime)
    except IntegrityError:
        return f"field 'createdDateTime' is {record.createdDateTime!r}, not a time like '2026-03-01T08:00:00.000000Z'"
    return None


def _order(record: BackupRecord) -> tuple[str, str]:
    return (record.createdDateTime, record.id)
