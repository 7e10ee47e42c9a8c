"""Settling a job its process left unfinished, by what the share holds.

A process can die between its backup's final rename (after which the backup is complete: a
GUID folder is nothing else, docs/FORMAT.md) and the save of its record. Calling such a job
Failed would have the history deny a backup that is on the share, complete and verifiable, and
retention would not count it as the newest good one. So the share is asked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ibs.engine import layout
from ibs.engine.errors import IntegrityError, ShareError
from ibs.engine.history import BackupRecord
from ibs.engine.jobstate import Status
from ibs.engine.manifest import Manifest, parse
from ibs.engine.share import Share


@dataclass(frozen=True)
class Found:
    """A complete backup on the share: its manifest and the bytes it stores."""

    manifest: Manifest
    stored_bytes: int
    location: str
    transfer_encrypted: bool | None


def complete_on_share(share: Share, backup_id: str) -> Found | None:
    """The backup ``backup_id`` if the share holds it whole: a manifest that parses, and every
    role file it names at the size it states. (Its MAC needs the PFX; verify checks that.)"""
    folder = layout.backup_dir(backup_id)
    try:
        if share.stat(folder) is None:
            return None
        raw = share.read_bytes(f"{folder}/{layout.MANIFEST}")
        manifest = parse(raw, uuid.UUID(backup_id)).manifest
        for role in manifest.roles:
            st = share.stat(f"{folder}/{role.file}")
            if st is None or st.size != role.storedBytes:
                return None
    except (IntegrityError, ShareError):
        return None
    stored = len(raw) + sum(r.storedBytes for r in manifest.roles)
    return Found(manifest, stored, share.describe(), share.transfer_encrypted)


def settle_completed(record: BackupRecord, found: Found, roles: list[str], now: str) -> None:
    """Record ``found`` as the dead job's outcome: Succeeded, or PartialSucceeded when roles
    that were to be backed up (``roles``, today's sources) are not in it."""
    manifest = found.manifest
    have = [r.name for r in manifest.roles]
    missing = sorted(set(roles) - set(have))
    record.roleStatus = ([{"roleName": n, "status": Status.SUCCEEDED.value} for n in have]
                         + [{"roleName": n, "status": Status.FAILED.value} for n in missing])
    record.roleStatus.sort(key=lambda r: r["roleName"])
    status = Status.PARTIAL if missing else Status.SUCCEEDED
    record.move_to(status)
    record.encryptionCertThumbprint = manifest.encryptionCertThumbprint
    record.sizeBytes = found.stored_bytes
    record.dataBytes = sum(r.fileBytes for r in manifest.roles)
    record.location = found.location
    record.transferEncrypted = found.transfer_encrypted
    record.isCloudRecoveryReady = status is Status.SUCCEEDED
    record.completedDateTime = now
    record.progress = None
    record.warnings.append(
        "the job's process ended after its backup was complete on the share; recorded from "
        "the share when this was found, without the warnings the job may have had (files it "
        "left out are not known)")
