"""Alerts: one per category while its fault lasts, each with the operator's remediation.

The next successful backup clears every active alert (the real service closes them itself once
the condition is gone). Cleared alerts stay in the history with their clear time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ibs.engine.errors import AlertCategory

TITLES = {
    AlertCategory.SHARE_CAPACITY: "External file share is out of capacity",
    AlertCategory.CONNECTIVITY: "Backup share is unreachable",
    AlertCategory.PATH_FAULT: "Backup path is not valid",
    AlertCategory.AUTHENTICATION: "Credentials for the backup share were rejected",
    AlertCategory.GENERAL_FAULT: "Infrastructure backup failed",
}

REMEDIATION = {
    AlertCategory.SHARE_CAPACITY: (
        "Free space on the share (prune old backups, or lower the retention period) or move the "
        "storage location to a larger share, then start a backup."
    ),
    AlertCategory.CONNECTIVITY: (
        "Check that the share's host name resolves from the privileged endpoint, that the "
        "server is up, and that firewalls allow TCP port 445 from all three ERCS VMs; then "
        "start a backup."
    ),
    AlertCategory.PATH_FAULT: (
        "Check that the share and folder in the storage location exist and that the path is "
        "written as \\\\host\\share\\folder; then update the storage location."
    ),
    AlertCategory.AUTHENTICATION: (
        "Update the user name and password of the storage location, and check the account may "
        "write to the folder."
    ),
    AlertCategory.GENERAL_FAULT: (
        "Look at the failed backup's error, fix the cause, and start a backup; if it "
        "persists, collect the logs."
    ),
}


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
        return asdict(self)


class AlertBook:
    """The alerts of one store; a plain model the controller saves after each change."""

    def __init__(self, alerts: list[Alert] | None = None) -> None:
        self.alerts = alerts or []

    def active(self) -> list[Alert]:
        return [a for a in self.alerts if a.active]

    def raise_alert(self, category: AlertCategory, message: str, when: str,
                    backup_id: str | None) -> Alert:
        for alert in self.active():
            if alert.category == category.value:
                alert.message, alert.backupId = message, backup_id
                alert.occurrences += 1
                return alert
        alert = Alert(category.value, TITLES[category], message, REMEDIATION[category], when,
                      backupId=backup_id)
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
        from ibs.engine.store import StoreFileDamaged, record_from_json

        if not isinstance(raw, list):
            raise StoreFileDamaged(path, "a JSON list of alerts is expected")
        return cls([record_from_json(Alert, a, path) for a in raw])

    def to_json(self) -> list[dict[str, object]]:
        return [a.to_json() for a in self.alerts]
