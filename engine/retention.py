"""Retention: which backups and leftovers leave the share (the plan), then their deletion.

The plan keeps every backup younger than the retention period and the newest Succeeded one
whatever its age; a backup exactly as old as the period has served it (24/f x d are kept).
Leftovers (folders a crashed job or a crashed deletion left) always go. Applying a plan
renames each backup folder to its deleting name first, so a crash mid-delete never leaves a
GUID folder half empty, and marks the backup Deleted in the history.

The controller runs both under the job slot: ``Controller.prune`` on its own, ``prune_on`` on the
share a job has just committed a backup to.
"""

from __future__ import annotations

import datetime as dt
import uuid

from ibs.engine import layout
from ibs.engine.errors import IntegrityError, ShareError
from ibs.engine.history import History
from ibs.engine.jobstate import ON_SHARE, Status
from ibs.engine.manifest import parse
from ibs.engine.share import Share


class CreationTimes:
    """The creation time of each complete backup on a share, read from its manifest once: a
    committed backup is never rewritten, so what was read stands."""

    def __init__(self) -> None:
        self._known: dict[str, dict[str, dt.datetime]] = {}  # by share, by backup id

    def remember(self, share: Share, backup_id: str, created: dt.datetime) -> None:
        """A backup just committed: its age is known without reading its manifest back."""
        self._known.setdefault(share.describe(), {})[backup_id] = created

    def complete_backups(self, share: Share, names: list[str]) -> list[tuple[str, dt.datetime]]:
        """(backup id, creation time) of the complete backups among ``names`` (the backup
        root's listing). Plain pairs: a simulated year plans some 1,500 prunes of about 15
        backups each."""
        found = []
        known = self._known.setdefault(share.describe(), {})
        for name in names:
            created = known.get(name)
            if created is None:
                if not layout.is_backup_name(name):
                    continue
                try:
                    parsed = parse(share.read_bytes(f"{layout.backup_dir(name)}/{layout.MANIFEST}"),
                                   uuid.UUID(name))
                except (IntegrityError, ShareError):
                    continue  # not ours to judge; verify reports it
                created = known[name] = parsed.manifest.createdDateTime
            found.append((name, created))
        return found


def plan(share: Share, times: CreationTimes, history: History, now: dt.datetime,
         retention_days: int) -> list[str]:
    """The share paths to delete, backups first, then leftovers."""
    cutoff = now - dt.timedelta(days=retention_days)
    # One listing serves both the backups and the leftovers.
    names = share.listdir(layout.ROOT) if share.stat(layout.ROOT) is not None else []
    on_share = times.complete_backups(share, names)
    leftovers = [f"{layout.ROOT}/{n}" for n in names if layout.is_leftover_name(n)]
    expired = [backup_id for backup_id, created in on_share if created <= cutoff]
    if not expired:
        # Nothing has served its period (half of a regular schedule's prunes): the newest
        # Succeeded backup, which the history would have to name, is not needed.
        return leftovers
    statuses = history.statuses_of([backup_id for backup_id, _ in on_share])
    succeeded = Status.SUCCEEDED.value
    good = [(created, backup_id) for (backup_id, created), status
            in zip(on_share, statuses, strict=True) if status is None or status == succeeded]
    newest = max(good)[1] if good else None
    return [layout.backup_dir(b) for b in expired if b != newest] + leftovers


def apply(share: Share, paths: list[str], history: History, deleted_at: str) -> None:
    """Delete what ``plan`` chose; ``deleted_at`` is the history's deletedDateTime."""
    for path in paths:
        name = path.rsplit("/", 1)[1]
        if layout.is_backup_name(name):
            share.rename(path, layout.deleting_dir(name))
            share.rmtree(layout.deleting_dir(name))
            record = history.get(name)
            if record is not None and Status(record.status) in ON_SHARE:
                record.move_to(Status.DELETED)
                record.deletedDateTime = deleted_at
                history.save(record)
        else:
            share.rmtree(path)


def shown(share: Share, path: str) -> str:
    """A share path as the operator reads it: under the share's UNC path or local folder."""
    base = share.describe()
    sep = "\\" if base.startswith("\\\\") else "/"
    return base.rstrip(sep) + sep + path.replace("/", sep)
