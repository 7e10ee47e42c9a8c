"""Running one scenario: build the hub, play the timeline in virtual time, check expectations.

The result is plain data (picklable, JSON-ready) so scenarios can run in other processes and
every report renders from the same thing.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ibs.engine.errors import IbsError
from ibs.scenarios.expect import Check, evaluate
from ibs.scenarios.model import Event, Scenario
from ibs.simulator import actions, scale
from ibs.simulator.clock import ticks
from ibs.simulator.hub import Hub
from ibs.simulator.inputs import growth_of, hub_config
from ibs.simulator.profiles import parse_hub
from ibs.simulator.recovery import RecoveryResult, recover
from ibs.simulator.summary import budget_bytes, summarize


@dataclass
class ScenarioResult:
    name: str
    path: str
    tags: list[str]
    seed: int
    fidelity: str
    days: float
    passed: bool
    seconds: float  # wall time: for the terminal, and for reports only when asked (to_json)
    checks: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    backups: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    occupancy: list[tuple[float, int]] = field(default_factory=list)
    recoveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None  # the scenario could not run to the end
    description: str = ""

    @property
    def replay(self) -> str:
        return f"ibs run {self.path} --seed {self.seed} --fidelity {self.fidelity}"

    def to_json(self, *, timings: bool = False) -> dict[str, Any]:
        """The result as plain data; the wall seconds only with ``timings``.

        Without them two runs of the same scenario and seed give equal data, and so reports
        that are equal byte for byte."""
        out = asdict(self)
        if not timings:
            del out["seconds"]
        out["replay"] = self.replay
        return out


class _Timeline:
    """Applies a scenario's events to a hub at their virtual times, from one SimPy process."""

    def __init__(self, hub: Hub, scenario: Scenario) -> None:
        self.hub = hub
        self.scenario = scenario
        self.recoveries: dict[str, RecoveryResult] = {}
        self.errors: list[str] = []

    def process(self):
        env = self.hub.env
        # Every wake-up is scheduled now, at time 0 and in timeline order, so that at any
        # instant the timeline's events keep their order and come before whatever the hub
        # schedules later for that instant (SimPy breaks ties by scheduling order), as when
        # each event had its own process.
        wakeups = [env.timeout(max(0, ticks(e.at_seconds) - env.now)) for e in self.scenario.events]
        for event, wakeup in zip(self.scenario.events, wakeups):
            yield wakeup
            try:
                # An on-demand backup comes back as its own process: the next event need not
                # wait for it.
                self.apply(event)
            except IbsError as exc:
                # An event the world refuses (a bad path, say) is part of the story, not a crash.
                # SimPy types ``now`` as int | float; every timeout here is whole ticks, so int()
                # only tells the type what the clock already is.
                self.hub.log.add(int(env.now), "event refused", action=event.action, message=str(exc))

    def _backup_id(self, ref: int | str) -> str | None:
        records = self.hub.ctl.backups()
        started = [e["id"] for e in self.hub.log.of("backup started")]
        good = [r.id for r in records if r.status == "Succeeded"]
        if isinstance(ref, int):
            return started[ref - 1] if len(started) >= ref else None
        if ref == "newest":
            return started[-1] if started else None
        if ref == "newest-succeeded":
            return good[-1] if good else None
        return good[0] if good else None

    def apply(self, event: Event):
        hub, p, a = self.hub, event.params, event.action
        if a == "firewall_rule_add":
            actions.add_firewall_rule(hub, p["name"], p["action"], p["source"], p["target"], p["port"])
        elif a == "firewall_rule_remove":
            actions.remove_firewall_rule(hub, p["name"])
        elif a == "block_port_445":
            actions.block_port_445(hub, p["action"])
        elif a == "unblock_port_445":
            actions.remove_firewall_rule(hub, "block-445")
        elif a == "dns_fail":
            actions.break_name_resolution(hub)
        elif a == "dns_restore":
            actions.fix_name_resolution(hub)
        elif a == "ercs_fail":
            actions.fail_ercs(hub, p["vm"])
        elif a == "ercs_restore":
            actions.restore_ercs(hub, p["vm"])
        elif a == "failover":
            hub.failover_to(p["vm"])
        elif a == "server_password":
            actions.server_set_password(hub, p["password"])
        elif a == "server_encryption":
            actions.server_encryption(hub, p["mode"])
        elif a == "server_max_dialect":
            actions.server_max_dialect(hub, p["dialect"])
        elif a == "fill_share":
            actions.fill_share(hub, p["free_gb"])
        elif a == "free_share":
            actions.free_share(hub)
        elif a == "maintenance":
            actions.maintenance(hub, p["hours"], p["kind"])
        elif a == "operator_credentials":
            changes = {"password": p["password"]}
            if p["username"]:
                changes["username"] = p["username"]
            actions.operator_configure(hub, **changes)
        elif a == "operator_path":
            actions.operator_configure(hub, path=p["path"])
        elif a == "operator_certificate":
            actions.rotate_certificate(hub, p["name"])
        elif a == "operator_frequency":
            actions.operator_configure(hub, frequency_hours=p["hours"])
        elif a == "operator_retention":
            actions.operator_configure(hub, retention_days=p["days"])
        elif a == "operator_scheduler":
            actions.operator_configure(hub, scheduler=p["enabled"])
        elif a == "backup":
            return actions.request_backup(hub)
        elif a == "tamper":
            backup_id = self._backup_id(p["backup"])
            if backup_id is None:
                raise IbsError(f"no backup {p['backup']} to tamper with")
            actions.tamper(hub, backup_id, p["role"])
        elif a == "recover":
            self._recover(p)
        else:  # the loader admits only known actions
            raise AssertionError(a)
        hub.sample()
        return None

    def _recover(self, p: dict[str, Any]) -> None:
        hub = self.hub
        backup_id = self._backup_id(p["backup"])
        name = p["name"]
        if backup_id is None:
            self.recoveries[name] = RecoveryResult("", "refused", message=f"no backup {p['backup']}")
        else:
            cert = p["pfx"] or hub.current_cert
            if cert not in hub.certs:
                raise IbsError(f"no certificate named {cert!r} was uploaded in this scenario")
            _cer, pfx, password = hub.certs[cert]
            self.recoveries[name] = recover(hub, backup_id, pfx, password, p["role"], p["version"])
        result = self.recoveries[name]
        hub.log.add(int(hub.env.now), "recovery", name=name, id=result.backup_id,
                    outcome=result.outcome, message=result.message)


def build_hub(scenario: Scenario) -> Hub:
    profile = parse_hub(scenario.hub, identity=scenario.identity, version=scenario.stamp_version,
                        growth=growth_of(scenario.settings))
    return Hub(hub_config(profile, scenario.settings, seed=scenario.seed,
                          fidelity=scenario.fidelity))


def run_scenario(scenario: Scenario, observe: Callable[[Hub], None] | None = None) -> ScenarioResult:
    """Run ``scenario`` to its end; ``observe`` (the determinism check's hook) sees the hub once
    the run is over, before it closes, even when the run broke."""
    started = time.perf_counter()
    result = ScenarioResult(scenario.name, scenario.path, list(scenario.tags), scenario.seed,
                            scenario.fidelity, scenario.days, passed=False, seconds=0.0,
                            description=scenario.description)
    try:
        with build_hub(scenario) as hub:
            timeline = _Timeline(hub, scenario)
            hub.env.process(timeline.process())
            try:
                hub.run(scenario.days)
                checks = evaluate(scenario, hub, timeline.recoveries)
                _fill(result, hub, timeline, checks)
            finally:
                if observe is not None:
                    observe(hub)
    except Exception as exc:  # noqa: BLE001 - a broken run is a failed scenario with its cause, not a crash
        result.error = f"{type(exc).__name__}: {exc}"
        result.checks = [asdict(Check("scenario runs to the end", False, result.error))]
        result.events.append({"event": "traceback", "text": traceback.format_exc(limit=8)})
    result.seconds = round(time.perf_counter() - started, 3)
    result.passed = result.error is None and all(c["passed"] for c in result.checks)
    return result


def _fill(result: ScenarioResult, hub: Hub, timeline: _Timeline, checks: list[Check]) -> None:
    result.checks = [asdict(c) for c in checks]
    result.summary = summarize(hub, result.days, check_recovery=False)
    result.summary["budgetBytes"] = budget_bytes(hub)
    started = {e["id"]: e for e in hub.log.of("backup started")}
    # A job ends when it finishes, or when its controller dies under it (an ERCS VM failing).
    finished = {e["id"]: e for e in hub.log.of("controller crashed") if e.get("id")}
    finished |= {e["id"]: e for e in hub.log.of("backup finished")}
    for record in hub.ctl.backups():
        start, end = started.get(record.id), finished.get(record.id)
        result.backups.append({
            "id": record.id, "status": record.status, "trigger": record.trigger,
            "createdDateTime": record.createdDateTime, "timeTakenToCreate": record.timeTakenToCreate,
            "startedAt": start["t"] if start else None, "finishedAt": end["t"] if end else None,
            "category": record.error["category"] if record.error else None,
            "message": record.error["message"] if record.error else None,
            "sizeBytes": scale.to_modelled(record.sizeBytes),
            "transferEncrypted": record.transferEncrypted,
            "encryptionCertThumbprint": record.encryptionCertThumbprint,
        })
    result.events = list(hub.log.entries)
    result.occupancy = list(hub.occupancy)
    result.recoveries = {k: v.to_json() for k, v in timeline.recoveries.items()}
