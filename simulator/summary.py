"""What a simulated run comes to, in modelled units and REST names: the `ibs simulate` result."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ibs.engine.jobstate import Status
from ibs.simulator.recovery import recover

STATUSES = [s.value for s in Status]


def budget_bytes(hub) -> int:
    """The budget the share's peak is held to: the one in force when the peak happened
    (REFERENCE.md: per-backup size x 24 / frequency hours x retention days)."""
    return hub.peak_budget_bytes or hub.budget_bytes()


def recovery_check(hub) -> dict[str, Any]:
    """Restore the newest Succeeded backup with its PFX and compare every role."""
    good = [r for r in hub.ctl.backups() if r.status == Status.SUCCEEDED.value]
    if not good:
        return {"result": "not run", "reason": "no Succeeded backup"}
    newest = good[-1]
    name = hub.cert_for(newest.encryptionCertThumbprint)
    if name is None:
        return {"result": "not run", "reason": "the backup's PFX is not known to the simulator"}
    _cer, pfx, password = hub.certs[name]
    result = recover(hub, newest.id, pfx, password)
    return {"result": "passed" if result.outcome == "passed" else "failed", **result.to_json()}


def summarize(hub, days: float, check_recovery: bool = True) -> dict[str, Any]:
    records = hub.ctl.backups()
    counts = Counter(r.status for r in records)
    settings = hub.ctl.settings
    alerts = [{"category": a.category, "raisedDateTime": a.raisedDateTime,
               "clearedDateTime": a.clearedDateTime, "message": a.message}
              for a in hub.ctl.alert_book().alerts]
    check = recovery_check(hub) if check_recovery else {"result": "not run", "reason": "disabled"}
    return {
        "hub": hub.profile.name, "identity": hub.profile.identity,
        "stampVersion": hub.profile.version, "seed": hub.config.seed,
        "fidelity": hub.config.fidelity, "days": days,
        "policy": {"backupFrequencyInHours": settings.frequency_hours,
                   "backupRetentionPeriodInDays": settings.retention_days,
                   "isBackupSchedulerEnabled": settings.scheduler},
        "perBackupBytes": hub.profile.backup_bytes,
        "backups": {s: counts.get(s, 0) for s in STATUSES},
        "sharePeakBytes": hub.peak_bytes,
        "shareUsedBytes": hub.share_used_bytes(),
        "budgetBytes": budget_bytes(hub),
        "shareCapacityBytes": hub.config.share_capacity_bytes,
        "alerts": alerts,
        "recoveryCheck": check["result"],
        "recovery": check,
        "events": len(hub.log.entries),
    }
