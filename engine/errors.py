"""The engine's exceptions: one root, named by cause, each a one-line message for the user.

The CLI maps them to exit codes: ``BadInput`` -> 2, ``JobSlotTaken`` -> 3, everything else -> 1.
Messages never contain a secret (a password, PFX bytes, a data key).
"""

from __future__ import annotations

from enum import Enum


class AlertCategory(str, Enum):
    """The five alert categories of the real service (REFERENCE.md, Alerts)."""

    SHARE_CAPACITY = "ShareCapacity"
    CONNECTIVITY = "Connectivity"
    PATH_FAULT = "PathFault"
    AUTHENTICATION = "Authentication"
    GENERAL_FAULT = "GeneralFault"


class IbsError(Exception):
    """Root of every error the engine raises on purpose."""

    exit_code = 1


class BadInput(IbsError):
    """The user gave something unusable: a setting out of bounds, a wrong file, an unknown id."""

    exit_code = 2


class CertificateError(BadInput):
    """A certificate or PFX that cannot be used: wrong key type or size, wrong password, not a cert."""


class JobSlotTaken(IbsError):
    """The one job slot is held by another job, in this process or another."""

    exit_code = 3


class MaintenanceInProgress(IbsError):
    """An update or FRU operation is running: on-demand backups are refused until it ends."""


class IntegrityError(IbsError):
    """Backup data on the share does not authenticate: tampered, truncated, reordered or swapped."""


class ShareError(IbsError):
    """The share refused or failed an operation; ``category`` says which alert it raises."""

    # The NTSTATUS behind it when an SMB server answered with one (callers tell "no such
    # share" from other path faults by it); None for local shares and transport failures.
    smb_status: int | None = None

    def __init__(self, category: AlertCategory, message: str) -> None:
        super().__init__(message)
        self.category = AlertCategory(category)


class ShareCapacityError(ShareError):
    def __init__(self, message: str) -> None:
        super().__init__(AlertCategory.SHARE_CAPACITY, message)


class ConnectivityError(ShareError):
    def __init__(self, message: str) -> None:
        super().__init__(AlertCategory.CONNECTIVITY, message)


class PathFaultError(ShareError):
    def __init__(self, message: str) -> None:
        super().__init__(AlertCategory.PATH_FAULT, message)


class AuthenticationError(ShareError):
    def __init__(self, message: str) -> None:
        super().__init__(AlertCategory.AUTHENTICATION, message)


class GeneralFaultError(ShareError):
    def __init__(self, message: str) -> None:
        super().__init__(AlertCategory.GENERAL_FAULT, message)


class SourceError(IbsError):
    """A role's source data could not be read; that role fails, the others go on."""

    def __init__(self, role: str, message: str) -> None:
        super().__init__(f"role {role}: {message}")
        self.role = role
