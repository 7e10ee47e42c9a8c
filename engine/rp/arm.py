"""Resource ids and the ARM JSON shapes of Microsoft.Backup.Admin (REFERENCE.md, REST model).

Secrets never pass through here: ``password`` and ``encryptionCertBase64`` are always written
back as null. Fields the real service does not have are marked as project extensions in the
OpenAPI document (``sources``, ``smbPort``, ``smbTimeoutSeconds``; in a backup ``trigger``,
``sizeBytes``, ``error``, ``progress``, ...).
"""

from __future__ import annotations

from typing import Any

from ibs.engine.controller import Controller
from ibs.engine.history import BackupRecord

NAMESPACE = "Microsoft.Backup.Admin"
LOCATION = "local"
LOCATION_TYPE = f"{NAMESPACE}/backupLocations"
BACKUP_TYPE = f"{NAMESPACE}/backupLocations/backups"
API_VERSIONS = ("2018-09-01", "2021-09-01")
PATCH_API_VERSION = "2021-09-01"

# What the engine's Controller.location() gives that is not part of externalStoreDefault.
_NOT_PUBLISHED = ("store",)


def base_path(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{NAMESPACE}"


def location_resource(ctl: Controller, base: str, capacity: str | None) -> dict[str, Any]:
    store = {k: v for k, v in ctl.location().items() if k not in _NOT_PUBLISHED}
    store["password"] = None  # write-only
    store["encryptionCertBase64"] = None  # write-only
    store["availableCapacity"] = capacity
    return {
        "id": f"{base}/backupLocations/{LOCATION}",
        "name": LOCATION,
        "type": LOCATION_TYPE,
        "location": LOCATION,
        "tags": {},
        "properties": {"externalStoreDefault": store},
    }


def backup_info(record: BackupRecord, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    info = record.to_json()
    info.pop("id")
    # "location" would read as the ARM region; the share path the backup went to is this:
    info["storageLocation"] = info.pop("location")
    info["progress"] = progress
    return info


def backup_resource(record: BackupRecord, base: str,
                    progress: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": f"{base}/backupLocations/{LOCATION}/backups/{record.id}",
        "name": f"{LOCATION}/{record.id}",
        "type": BACKUP_TYPE,
        "location": LOCATION,
        "properties": {"backupInfo": backup_info(record, progress)},
    }


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


OPERATIONS = [
    ("backupLocations/read", "Backup location", "Get backup location",
     "Returns the backup location and its settings."),
    ("backupLocations/write", "Backup location", "Update backup location",
     "Sets the storage location, credentials, encryption certificate and schedule."),
    ("backupLocations/createBackup/action", "Backup location", "Create backup",
     "Starts an on-demand backup."),
    ("backupLocations/pruneExternalStore/action", "Backup location", "Prune external store",
     "Deletes (or lists) backups older than the retention period."),
    ("backupLocations/backups/read", "Backup", "Get backups", "Lists backups or returns one."),
    ("backupLocations/backups/restore/action", "Backup", "Restore backup",
     "Restores the roles of a backup with the decryption certificate."),
    ("operations/read", "Operations", "List operations", "Lists the provider's operations."),
]


def operations_list() -> dict[str, Any]:
    return {"value": [
        {"name": f"{NAMESPACE}/{name}", "display": {
            "provider": "Microsoft Backup Admin (ibs)", "resource": resource,
            "operation": operation, "description": description}, "origin": "user,system"}
        for name, resource, operation, description in OPERATIONS]}
