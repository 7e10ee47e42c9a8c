"""Backup settings and their validation, shared by the CLI, the REST API and the simulator.

Bounds and defaults are the real service's (REFERENCE.md, Settings). Every message names the
setting, the value given and what is allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from engine.errors import BadInput
from engine.manifest import ROLE_NAME

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
    from engine.share.unc import is_unc, parse_unc

    if is_unc(path) or path.startswith("\\"):
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
