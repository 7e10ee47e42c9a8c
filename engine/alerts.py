"""Alerts: one per category while its fault lasts, each with the operator's remediation.

The next successful backup clears every active alert (the real service closes them itself once
the condition is gone). Cleared alerts stay in the history with their clear time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from ibs.engine.errors import AlertCategory
from ibs.engine.settings import Settings
from ibs.engine.store import StoreFileDamaged, record_from_json

TITLES = {
    AlertCategory.SHARE_CAPACITY: "External file share is out of capacity",
    AlertCategory.CONNECTIVITY: "Backup share is unreachable",
    AlertCategory.PATH_FAULT: "Backup path is not valid",
    AlertCategory.AUTHENTICATION: "Credentials for the backup share were rejected",
    AlertCategory.GENERAL_FAULT: "Infrastructure backup failed",
}


@dataclass(frozen=True, slots=True)
class Where:
    """What remediation text names: the share's host (None for a local folder), the SMB port
    configured, the path, and whether the engine runs in a hub (simulated: the manifest's info
    names a stamp) or standalone."""

    path: str | None = None
    port: int = 445
    on_hub: bool = False

    @property
    def host(self) -> str | None:
        if self.path and self.path.startswith("\\\\"):
            return self.path[2:].split("\\", 1)[0] or None
        return None


def where_of(settings: Settings, info: Mapping[str, str]) -> Where:
    return Where(settings.path, settings.smb_port, on_hub="stampVersion" in info)


def remediation(category: AlertCategory, where: Where | None = None) -> str:
    """The operator's next step for ``category``, naming the configured host and port, and
    fitting where the engine runs (a hub's ERCS VMs, or this machine)."""
    w = where or Where()
    host = w.host
    share = f"the share on {host}" if host else "the share"
    location = f"the storage location {w.path}" if w.path else "the storage location"
    if category is AlertCategory.SHARE_CAPACITY:
        return (f"Free space on {share} (prune old backups, or lower the retention period) or "
                "move the storage location to a larger share, then start a backup.")
    if category is AlertCategory.CONNECTIVITY:
        if host is None:
            return (f"Check that the folder of {location} is mounted and readable from this "
                    "machine; then start a backup.")
        origin = "the privileged endpoint (all three ERCS VMs)" if w.on_hub else "this machine"
        return (f"Check that {host} resolves from {origin}, that its SMB server is up and "
                f"listening on TCP port {w.port}, and that firewalls allow TCP port {w.port} "
                f"to {host} from {origin}; then start a backup.")
    if category is AlertCategory.PATH_FAULT:
        form = "\\\\host\\share\\folder or an absolute local folder"
        return (f"Check that the share and folder of {location} exist and that the path is "
                f"written as {form}; then update the storage location.")
    if category is AlertCategory.AUTHENTICATION:
        return (f"Update the user name and password of {location}, and check that the account "
                f"may write to the folder on {share}.")
    return ("Look at the failed backup's error, fix the cause, and start a backup; if it "
            "persists, collect the logs.")


@dataclass(slots=True)
class Alert:
    category: str
    title: str
    message: str
    remediation: str
    raisedDateTime: str
    clearedDateTime: str | None = None
    backupId: str | None = None
    occurrences: int = 1

    @property
    def active(self) -> bool:
        return self.clearedDateTime is None

    def to_json(self) -> dict[str, object]:
        # Field by field, in their order (what asdict gives): asdict deep-copies every str,
        # and the whole book is written at the end of every job.
        return {name: getattr(self, name) for name in _ALERT_FIELDS}


_ALERT_FIELDS = tuple(f.name for f in fields(Alert))


class AlertBook:
    """The alerts of one store; a plain model the controller saves after each change."""

    def __init__(self, alerts: list[Alert] | None = None) -> None:
        self.alerts = alerts or []

    def active(self) -> list[Alert]:
        return [a for a in self.alerts if a.active]

    def raise_alert(self, category: AlertCategory, message: str, when: str,
                    backup_id: str | None, where: Where | None = None) -> Alert:
        for alert in self.active():
            if alert.category == category.value:
                alert.message, alert.backupId = message, backup_id
                alert.remediation = remediation(category, where)
                alert.occurrences += 1
                return alert
        alert = Alert(category.value, TITLES[category], message, remediation(category, where),
                      when, backupId=backup_id)
        self.alerts.append(alert)
        return alert

    def clear_all(self, when: str) -> list[Alert]:
        cleared = self.active()
        for alert in cleared:
            alert.clearedDateTime = when
        return cleared

    @classmethod
    def from_json(cls, raw: object, path: str = "alerts.json") -> AlertBook:
        """The book as saved in the store file ``path``; a damaged one is ``StoreFileDamaged``."""
        if not isinstance(raw, list):
            raise StoreFileDamaged(path, "a JSON list of alerts is expected")
        return cls([record_from_json(Alert, a, path) for a in raw])

    @classmethod
    def from_saved(cls, raw: list[dict[str, object]]) -> AlertBook:
        """The book from JSON already checked (``from_json``) or made by ``to_json``, unchecked:
        checking every field's type again at each job's end cost a run with thousands of alerts
        most of its time (a scenario of 10,000 events over a year: nine tenths)."""
        return cls([Alert(**a) for a in raw])  # type: ignore[arg-type]

    def to_json(self) -> list[dict[str, object]]:
        return [a.to_json() for a in self.alerts]
