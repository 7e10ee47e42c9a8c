"""The bodies of Microsoft.Backup.Admin as pydantic models: one declaration gives the request
validation and the OpenAPI document (``app`` hands them to FastAPI).

Names and casing are the published specification's (2018-09-01, 2021-09-01). Fields the
specification lacks are this project's extensions and say so (``x-ibs-extension``). Ranges the
engine checks (frequency, retention, port, timeout) are documented here but checked by the
engine, so the API and the CLI give one message for one mistake.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ibs.engine.settings import FREQUENCY_HOURS, RETENTION_DAYS

EXT: dict[str, Any] = {"x-ibs-extension": True}
RO: dict[str, Any] = {"readOnly": True}
BACKUP_STATUSES = ("Creating", "Queued", "Running", "Deleted", "Failed", "PartialSucceeded",
                   "Succeeded", "Skipped")


def _f(description: str, **extra: Any) -> Any:
    return Field(default=None, description=description, json_schema_extra=extra or None)


class _Body(BaseModel):
    # Unknown fields are ignored, as ARM does: a spec client may send fields of a newer
    # version (blobStorageUrl) and a GET, edited, may be PUT back with its read-only fields.
    model_config = ConfigDict(extra="ignore")


class ExternalStore(_Body):
    path: StrictStr | None = _f("UNC path \\\\host\\share\\folder or an absolute local folder; "
                                "\"\" clears it")
    userName: StrictStr | None = _f("share user; \"\" clears it")
    # Write-only in effect (always read back as null) but not marked writeOnly: the answer
    # carries them as null, as the specification's examples do.
    password: StrictStr | None = _f("write-only: always read back as null")
    encryptionCertBase64: StrictStr | None = _f("write-only: the .cer (DER or PEM), base64, "
                                                "read back as null; \"\" clears it")
    encryptionCertThumbprint: StrictStr | None = _f("of the encryption certificate", **RO)
    backupFrequencyInHours: StrictInt | None = _f(
        "hours between scheduled backups", minimum=FREQUENCY_HOURS[0], maximum=FREQUENCY_HOURS[1])
    backupRetentionPeriodInDays: StrictInt | None = _f(
        "days a backup is kept", minimum=RETENTION_DAYS[0], maximum=RETENTION_DAYS[1])
    isBackupSchedulerEnabled: StrictBool | None = _f("scheduled backups on or off")
    availableCapacity: StrictStr | None = _f("free space on the share, e.g. \"29.6 TB\"; null "
                                             "when the share cannot be reached", **RO)
    nextBackupTime: StrictStr | None = _f("date-time of the next scheduled backup", **RO,
                                          format="date-time")
    lastBackupTime: StrictStr | None = _f("date-time of the last good backup", **RO,
                                          format="date-time")
    sources: dict[str, StrictStr] | None = _f("extension: role name -> folder holding its data",
                                              **EXT)
    smbPort: StrictInt | None = _f("extension: the share's TCP port", minimum=1, maximum=65535,
                                   **EXT)
    smbTimeoutSeconds: StrictInt | None = _f("extension: bound of each SMB request", minimum=1,
                                             maximum=300, **EXT)


class BackupLocationModel(_Body):
    externalStoreDefault: ExternalStore | None = None
    prunedPaths: list[str] | None = _f("extension: deleted because retention was lowered",
                                       **RO, **EXT)


class BackupLocation(_Body):
    """A PUT or PATCH body, and what GET answers."""

    id: StrictStr | None = _f("resource id", **RO)
    name: StrictStr | None = _f("always \"local\"", **RO)
    type: StrictStr | None = _f("Microsoft.Backup.Admin/backupLocations", **RO)
    location: StrictStr | None = _f("the region: \"local\"")
    tags: dict[str, StrictStr] | None = None
    properties: BackupLocationModel | None = None


class BackupLocationList(_Body):
    value: list[BackupLocation] = []
    nextLink: str | None = None


class RoleStatus(_Body):
    roleName: str
    status: str


class Progress(_Body):
    role: str
    doneBytes: int
    totalBytes: int
    percent: float | None = None


class BackupError(_Body):
    category: str
    message: str


class BackupInfo(_Body):
    backupDataVersion: str | None = None
    roleStatus: list[RoleStatus] = []
    status: Literal[BACKUP_STATUSES] | None = None  # type: ignore[valid-type]
    createdDateTime: str | None = Field(default=None, json_schema_extra={"format": "date-time"})
    timeTakenToCreate: str | None = _f("ISO 8601 duration")
    deploymentID: str | None = None
    stampVersion: str | None = None
    oemVersion: str | None = None
    isCloudRecoveryReady: bool | None = None
    encryptionCertThumbprint: str | None = None
    trigger: str | None = _f("extension: OnDemand or Scheduled", **EXT)
    completedDateTime: str | None = _f("extension", **EXT)
    deletedDateTime: str | None = _f("extension", **EXT)
    transferEncrypted: bool | None = _f("extension: SMB encryption was used", **EXT)
    sizeBytes: int | None = _f("extension: bytes stored on the share", **EXT)
    dataBytes: int | None = _f("extension: file bytes of the roles", **EXT)
    storageLocation: str | None = _f("extension: where it was written", **EXT)
    error: BackupError | None = _f("extension: why it failed", **EXT)
    warnings: list[str] | None = _f("extension", **EXT)
    progress: Progress | None = _f("extension: while it runs", **EXT)


class BackupModel(_Body):
    backupInfo: BackupInfo


class Backup(_Body):
    id: str
    name: str = Field(description="local/<guid>")
    type: str
    location: str
    tags: dict[str, str] | None = None
    properties: BackupModel


class BackupList(_Body):
    value: list[Backup] = []
    nextLink: str | None = None


class PruneOption(_Body):
    operationType: Literal["Default", "DryRun"] | None = "Default"


class PruneModel(_Body):
    pathsToDelete: list[str] = []


class PruneList(_Body):
    properties: PruneModel


class RestoreOptions(_Body):
    roleName: StrictStr | None = _f("one role, or \"\" for all")
    decryptionCertBase64: StrictStr | None = _f("the .pfx, base64; used in memory only",
                                                writeOnly=True)
    decryptionCertPassword: StrictStr | None = _f("used in memory only", writeOnly=True)


class RestoreResult(_Body):
    """Extension: where the roles were restored (the specification's 200 has no body)."""

    model_config = ConfigDict(json_schema_extra=EXT)
    id: str
    backupId: str
    roleName: str
    target: str
    restored: list[str]


class Display(_Body):
    provider: str
    resource: str
    operation: str
    description: str


class Operation(_Body):
    name: str
    display: Display
    origin: str


class OperationList(_Body):
    value: list[Operation] = []
    nextLink: str | None = None


class ErrorDetail(_Body):
    code: str
    message: str


class ErrorResponse(_Body):
    error: ErrorDetail


class OperationStatus(_Body):
    id: str
    name: str
    status: Literal["InProgress", "Succeeded", "Failed"]
    startTime: str
    endTime: str | None = None
    operationType: str
    error: ErrorDetail | None = None


class Alert(_Body):
    category: str
    title: str
    message: str
    remediation: str
    raisedDateTime: str
    clearedDateTime: str | None = None
    backupId: str | None = None
    occurrences: int | None = None


class AlertList(_Body):
    model_config = ConfigDict(json_schema_extra=EXT)
    value: list[Alert] = []
