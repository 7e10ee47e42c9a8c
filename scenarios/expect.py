"""Checking a finished run against its scenario's expectations, one named check each."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass

from ibs.engine import layout
from ibs.scenarios.model import Scenario
from ibs.simulator import scale
from ibs.simulator.recovery import RecoveryResult
from ibs.simulator.summary import budget_bytes, recovery_check


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def _eq(name: str, expected, actual) -> Check:
    return Check(name, expected == actual, f"expected {expected!r}, got {actual!r}")


def share_names(hub) -> list[str]:
    """What is under MASBackup on the share, looked at directly (the controller may be cut off)."""
    if hub.wire is not None:
        from ibs.simulator.hub import SHARE_FOLDER

        folder = os.path.join(hub.wire.root, SHARE_FOLDER, layout.ROOT)
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    prefix = f"{hub.storage_root()}/{layout.ROOT}/"
    return sorted({d[len(prefix):].split("/", 1)[0] for d in hub.storage.dirs if d.startswith(prefix)})


def share_bytes(hub) -> list[bytes]:
    if hub.wire is not None:
        out = []
        for dirpath, _dirs, files in os.walk(hub.wire.root):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    out.append(f.read())
        return out
    return [bytes(b) for b in hub.storage.files.values()]


def evaluate(scenario: Scenario, hub, recoveries: dict[str, RecoveryResult]) -> list[Check]:
    e = scenario.expect
    records = hub.ctl.backups()
    counts = Counter(r.status for r in records)
    checks: list[Check] = []
    for status, n in e.backups.items():
        checks.append(_eq(f"backups {status}", n, counts.get(status, 0)))
    for status, n in e.min_backups.items():
        got = counts.get(status, 0)
        checks.append(Check(f"at least {n} backups {status}", got >= n, f"got {got}"))
    for want in e.per_backup:
        name = f"backup {want.index}"
        if want.index > len(records):
            checks.append(Check(name, False, f"only {len(records)} backups were made"))
            continue
        r = records[want.index - 1]
        fields = {"status": r.status, "category": r.error["category"] if r.error else None,
                  "trigger": r.trigger, "transfer_encrypted": r.transferEncrypted}
        for key in ("status", "category", "trigger", "transfer_encrypted"):
            value = getattr(want, key)
            if value is not None:
                checks.append(_eq(f"{name} {key}", value, fields[key]))
        if want.message_contains is not None:
            message = r.error["message"] if r.error else ""
            checks.append(Check(f"{name} message", want.message_contains in message,
                                f"expected to contain {want.message_contains!r}, got {message!r}"))
    alerts = hub.ctl.alert_book().alerts
    if e.alerts_raised is not None:
        checks.append(_eq("alerts raised", list(e.alerts_raised), [a.category for a in alerts]))
    if e.alerts_cleared is not None:
        checks.append(_eq("alerts cleared", list(e.alerts_cleared),
                          [a.category for a in alerts if not a.active]))
    if e.alerts_active is not None:
        checks.append(_eq("alerts active", list(e.alerts_active),
                          [a.category for a in alerts if a.active]))
    budget = budget_bytes(hub)
    peak = hub.peak_bytes
    if e.share_peak_within_budget is not None:
        checks.append(Check("share peak within budget", (peak <= budget) == e.share_peak_within_budget,
                            f"peak {peak / scale.GB:.2f} GB, budget {budget / scale.GB:.2f} GB"))
    if e.share_peak_max_gb is not None:
        checks.append(Check(f"share peak at most {e.share_peak_max_gb} GB",
                            peak <= e.share_peak_max_gb * scale.GB, f"peak {peak / scale.GB:.2f} GB"))
    if e.share_peak_min_gb is not None:
        checks.append(Check(f"share peak at least {e.share_peak_min_gb} GB",
                            peak >= e.share_peak_min_gb * scale.GB, f"peak {peak / scale.GB:.2f} GB"))
    if e.recovery_check is not None:
        result = recovery_check(hub)
        checks.append(Check("recovery check", result["result"] == e.recovery_check,
                            f"expected {e.recovery_check}, got {result['result']}: "
                            f"{result.get('message') or result.get('reason') or ''}".rstrip(": ")))
    for want_rec in e.recoveries:
        result_rec = recoveries.get(want_rec.name)
        name = f"recovery {want_rec.name}"
        if result_rec is None:
            checks.append(Check(name, False, "the recover event did not run (after the end?)"))
            continue
        checks.append(Check(f"{name} outcome", result_rec.outcome == want_rec.outcome,
                            f"expected {want_rec.outcome}, got {result_rec.outcome}: {result_rec.message}".rstrip(": ")))
        if want_rec.message_contains is not None:
            checks.append(Check(f"{name} message", want_rec.message_contains in result_rec.message,
                                f"expected to contain {want_rec.message_contains!r}, got {result_rec.message!r}"))
        if want_rec.roles is not None:
            checks.append(_eq(f"{name} roles", sorted(want_rec.roles), sorted(result_rec.roles)))
    if e.refused_on_demand is not None:
        checks.append(_eq("on-demand requests refused", e.refused_on_demand,
                          len(hub.log.of("on-demand refused"))))
    if e.skipped is not None:
        checks.append(_eq("backups skipped", e.skipped, counts.get("Skipped", 0)))
    if e.no_partial_backups is not None:
        checks.append(_no_partials(hub, records, e.no_partial_backups))
    if e.no_secrets_leaked is not None:
        checks.append(_no_secrets(scenario, hub, e.no_secrets_leaked))
    if e.failovers is not None:
        checks.append(_eq("controller failovers", list(e.failovers),
                          [ev["vm"] for ev in hub.log.of("controller failover")]))
    return checks


def _no_partials(hub, records, expected: bool) -> Check:
    complete = {r.id for r in records if r.status in ("Succeeded", "PartialSucceeded")}
    names = share_names(hub)
    stray = [n for n in names if layout.is_leftover_name(n) or
             (layout.is_backup_name(n) and n not in complete)]
    return Check("no partial backup on the share", (not stray) == expected,
                 f"found {stray}" if stray else f"{len(names)} folders, all complete backups")


def _no_secrets(scenario: Scenario, hub, expected: bool) -> Check:
    from ibs.scenarios.secret_scan import scan_for_secrets
    from ibs.scenarios.secrets import scenario_secrets

    secrets = scenario_secrets(scenario)
    places = []
    if any(s in data for data in share_bytes(hub) for s in secrets):
        places.append("the share")
    places += scan_for_secrets(hub.ctl.store.root, secrets)
    log = json.dumps(hub.log.entries).encode()
    if any(s in log for s in secrets):
        places.append("the event log")
    return Check("no secret on the share, in the store or in the log", (not places) == expected,
                 f"found in {places}" if places else f"{len(secrets)} secrets looked for, none found")
