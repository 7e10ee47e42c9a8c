"""Backup settings and their validation, shared by the CLI, the REST API and the simulator.

Bounds and defaults are the real service's (REFERENCE.md, Settings). Every message names the
setting, the value given and what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ibs.engine.errors import BadInput
from ibs.engine.manifest import ROLE_NAME

if TYPE_CHECKING:
    from ibs.engine.store import Store

SETTINGS_FILE = "settings.json"
SCHEDULE_FILE = "schedule.json"

FREQUENCY_HOURS = (4, 12)
RETENTION_DAYS = (2, 14)
DEFAULT_FREQUENCY_HOURS = 12
DEFAULT_RETENTION_DAYS = 7
SMB_TIMEOUT_SECONDS = (1, 300)
DEFAULT_SMB_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Settings:
    path: str | None = None
    smb_port: int = 445
    smb_timeout: int = DEFAULT_SMB_TIMEOUT_SECONDS  # bounds each SMB request and the connect
    username: str | None = None
    has_password: bool = False
    cert_der: bytes | None = None
    cert_thumbprint: str | None = None
    frequency_hours: int = DEFAULT_FREQUENCY_HOURS
    retention_days: int = DEFAULT_RETENTION_DAYS
    scheduler: bool = True
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return self.path is not None and self.cert_der is not None

    def missing(self) -> list[str]:
        out = []
        if self.path is None:
            out.append("--path")
        if self.cert_der is None:
            out.append("--encryption-cert")
        return out

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def check_range(name: str, value: int, bounds: tuple[int, int], unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{name} must be a whole number of {unit}, got {value!r}")
    lo, hi = bounds
    if not lo <= value <= hi:
        raise BadInput(f"{name} must be between {lo} and {hi} {unit}, got {value}")
    return value


def check_frequency(value: int) -> int:
    return check_range("backup frequency", value, FREQUENCY_HOURS, "hours")


def check_retention(value: int) -> int:
    return check_range("retention period", value, RETENTION_DAYS, "days")


def check_smb_timeout(value: int) -> int:
    return check_range("SMB timeout", value, SMB_TIMEOUT_SECONDS, "seconds")


def check_port(value: int) -> int:
    return check_range("SMB port", value, (1, 65535), "")


def check_path(path: str) -> str:
    """A UNC path (checked for form now, for reachability at backup time) or a local folder."""
    from ibs.engine.share.unc import is_unc, parse_unc

    if is_unc(path) or path.startswith("\\"):
        if "/" in path:
            # Refused rather than rewritten: the path stored and shown is the one given.
            fixed = path.replace("/", "\\")
            raise BadInput(f"storage location {path} uses '/': write the UNC path with backslashes, "
                           f"{fixed}")
        return str(parse_unc(path))
    if not os.path.isabs(path):
        raise BadInput(
            f"storage location {path!r} is neither a UNC path (\\\\host\\share\\folder) nor an "
            "absolute local folder"
        )
    if not os.path.isdir(path):
        raise BadInput(f"storage location {path} does not exist or is not a folder")
    return os.path.normpath(path)


def check_role_name(role: object) -> str:
    """Role names become file names on the share: letters, digits, '.', '_', '-' only."""
    if not isinstance(role, str) or not ROLE_NAME.match(role):
        raise BadInput(
            f"role name {role!r} must start with a letter and hold only letters, digits, '.', "
            "'_' or '-' (at most 64)"
        )
    return role


def parse_source(spec: str) -> tuple[str, str]:
    """``ROLE=DIR`` -> (role, absolute folder), checking both."""
    role, sep, folder = spec.partition("=")
    if not sep or not role or not folder:
        raise BadInput(f"source {spec!r} must be written ROLE=DIR")
    check_role_name(role)
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        raise BadInput(f"source folder {folder} for role {role} does not exist or is not a folder")
    return role, folder


def check_sources(sources: dict[str, str]) -> dict[str, str]:
    """Every role name valid and unique ignoring case (``ab`` and ``AB`` are one file on an SMB
    share or NTFS), every folder present; the sources sorted by role."""
    seen: dict[str, str] = {}
    for role, folder in sources.items():
        check_role_name(role)
        if role.casefold() in seen:
            raise BadInput(
                f"role names {seen[role.casefold()]!r} and {role!r} differ only in case; they would "
                "be one file on the share: rename one")
        seen[role.casefold()] = role
        if not os.path.isdir(folder):
            raise BadInput(f"source folder {folder} for role {role} does not exist")
    return dict(sorted(sources.items()))


def parse_sources(specs: list[str]) -> dict[str, str]:
    """Repeated ``ROLE=DIR`` options -> {role: folder}; a role given twice is an error, not
    "the last one wins"."""
    out: dict[str, str] = {}
    for spec in specs:
        role, folder = parse_source(spec)
        if role in out:
            raise BadInput(f"role {role} is given twice ({out[role]} and {folder}); give each role once")
        out[role] = folder
    return check_sources(out)


@dataclass
class _StoredSettings:
    """``settings.json`` as ``Controller.configure`` writes it (the REST model's names); it is
    only read back through ``read_settings_json``, which checks every field against this."""

    path: str | None = None
    smbPort: int = 445
    smbTimeoutSeconds: int = DEFAULT_SMB_TIMEOUT_SECONDS
    userName: str | None = None
    password: str | None = None  # sealed by the store
    encryptionCert: str | None = None  # base64 of the DER
    encryptionCertThumbprint: str | None = None
    backupFrequencyInHours: int = DEFAULT_FREQUENCY_HOURS
    backupRetentionPeriodInDays: int = DEFAULT_RETENTION_DAYS
    isBackupSchedulerEnabled: bool = True
    sources: dict[str, str] = field(default_factory=dict)


def read_settings_json(store: Store) -> dict[str, Any]:
    """The stored settings as written, each field's type and bounds checked; a damaged file
    is one line naming the file, the field and what to do."""
    from ibs.engine.store import StoreFileDamaged, record_from_json

    path = store.path(SETTINGS_FILE)
    raw = store.read_json(SETTINGS_FILE, {})
    record_from_json(_StoredSettings, raw, path)
    try:
        if raw.get("encryptionCert") is not None:
            base64.b64decode(raw["encryptionCert"], validate=True)
    except (binascii.Error, ValueError):
        raise StoreFileDamaged(path, "field 'encryptionCert' is not base64") from None
    for key, check in (("smbPort", check_port), ("smbTimeoutSeconds", check_smb_timeout),
                       ("backupFrequencyInHours", check_frequency),
                       ("backupRetentionPeriodInDays", check_retention)):
        try:
            if key in raw:
                check(raw[key])
        except BadInput as exc:
            raise StoreFileDamaged(path, f"field {key!r}: {exc}") from None
    return raw


def read_settings(store: Store) -> Settings:
    """The Settings the store holds, each one not stored at its default."""
    raw = read_settings_json(store)
    cert = raw.get("encryptionCert")
    return Settings(
        path=raw.get("path"), smb_port=raw.get("smbPort", 445), username=raw.get("userName"),
        smb_timeout=raw.get("smbTimeoutSeconds", DEFAULT_SMB_TIMEOUT_SECONDS),
        has_password=raw.get("password") is not None,
        cert_der=base64.b64decode(cert) if cert else None,
        cert_thumbprint=raw.get("encryptionCertThumbprint"),
        frequency_hours=raw.get("backupFrequencyInHours", DEFAULT_FREQUENCY_HOURS),
        retention_days=raw.get("backupRetentionPeriodInDays", DEFAULT_RETENTION_DAYS),
        scheduler=raw.get("isBackupSchedulerEnabled", True),
        sources=raw.get("sources", {}),
    )


@dataclass
class _StoredSchedule:
    """``schedule.json``: when the scheduler next has something to do."""

    nextSlot: str | None = None


def read_schedule_json(store: Store) -> dict[str, Any]:
    """The stored schedule, checked like ``read_settings_json``."""
    from ibs.engine.errors import IntegrityError
    from ibs.engine.manifest import parse_time
    from ibs.engine.store import StoreFileDamaged, record_from_json

    path = store.path(SCHEDULE_FILE)
    raw = store.read_json(SCHEDULE_FILE, {})
    record_from_json(_StoredSchedule, raw, path)
    try:
        if raw.get("nextSlot") is not None:
            parse_time(raw["nextSlot"])
    except IntegrityError:
        raise StoreFileDamaged(path, f"field 'nextSlot' is {raw['nextSlot']!r}, not a time") from None
    return raw
