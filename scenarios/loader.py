"""Reading scenario files: TOML in, a checked ``Scenario`` out, or one clear error.

Every mistake is reported as ``file:line: key: what is wrong`` before anything runs, at the
line where it was written (scenarios/toml_lines.py finds it: tomllib does not say). That
includes events that could never take effect: one at or after the end of the run, or one that
undoes something nothing before it did.
"""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from ibs.engine.errors import BadInput
from ibs.scenarios.effects import first_ineffective
from ibs.scenarios.model import (
    BackupExpectation,
    Event,
    Expectations,
    RecoveryExpectation,
    Scenario,
)
from ibs.scenarios.toml_lines import LineIndex
from ibs.simulator.clock import ticks
from ibs.simulator.config import check_share_used
from ibs.simulator.growth import Growth
from ibs.simulator.network import ERCS_VMS

STATUSES = ("Succeeded", "PartialSucceeded", "Failed", "Skipped", "Deleted", "Queued", "Running")
CATEGORIES = ("ShareCapacity", "Connectivity", "PathFault", "Authentication", "GeneralFault")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")

_REQ = object()  # marks a required parameter

# action -> {parameter: (type or tuple of allowed values, default or _REQ)}
ACTIONS: dict[str, dict[str, tuple[Any, Any]]] = {
    "firewall_rule_add": {"name": (str, _REQ), "action": (("drop", "reject", "allow"), _REQ),
                          "source": (ERCS_VMS, None), "target": (str, None), "port": (int, 445)},
    "firewall_rule_remove": {"name": (str, _REQ)},
    "block_port_445": {"action": (("drop", "reject"), "reject")},
    "unblock_port_445": {},
    "dns_fail": {},
    "dns_restore": {},
    "ercs_fail": {"vm": (ERCS_VMS, _REQ)},
    "ercs_restore": {"vm": (ERCS_VMS, _REQ)},
    "failover": {"vm": (ERCS_VMS, _REQ)},
    "server_password": {"password": (str, _REQ)},
    "server_encryption": {"mode": (("required", "desired", "off"), _REQ)},
    "server_max_dialect": {"dialect": (("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"), _REQ)},
    "fill_share": {"free_gb": (float, _REQ)},
    "free_share": {},
    "maintenance": {"hours": (float, _REQ), "kind": (("update", "FRU"), "update")},
    "operator_credentials": {"password": (str, _REQ), "username": (str, None)},
    "operator_path": {"path": (str, _REQ)},
    "operator_certificate": {"name": (str, _REQ)},
    "operator_frequency": {"hours": (int, _REQ)},
    "operator_retention": {"days": (int, _REQ)},
    "operator_scheduler": {"enabled": (bool, _REQ)},
    "backup": {},
    "tamper": {"backup": ((int, str), "newest-succeeded"), "role": (str, "CA")},
    "recover": {"name": (str, _REQ), "backup": ((int, str), "newest-succeeded"),
                "pfx": (str, None), "role": (str, None), "version": (str, None)},
}
BACKUP_REFS = ("newest", "newest-succeeded", "oldest-succeeded")

_TOP = {"scenario": "[scenario]", "settings": "[settings]", "events": "[[events]]",
        "expect": "[expect]"}
_SCENARIO_KEYS = {"name": str, "description": str, "tags": list, "hub": (str, int),
                  "identity": str, "stamp_version": str, "fidelity": str, "days": float,
                  "seed": int}
SETTINGS_KEYS = {"frequency_hours": int, "retention_days": int, "scheduler": bool,
                  "share_capacity_gb": float, "growth_gb_per_day": float,
                  "growth_pct_per_year": float, "share_used_gb": float,
                  "link_mb_per_second": float}
_EXPECT_KEYS = {"backups": dict, "min_backups": dict, "alerts_raised": list,
                "alerts_cleared": list, "alerts_active": list, "share_peak_within_budget": bool,
                "share_peak_max_gb": float, "share_peak_min_gb": float, "recovery_check": str,
                "refused_on_demand": int, "skipped": int, "no_partial_backups": bool,
                "no_secrets_leaked": bool, "failovers": list, "backup": list, "recovery": list}
_BACKUP_EXPECT_KEYS = {"index": int, "status": str, "category": str, "message_contains": str,
                       "trigger": str, "transfer_encrypted": bool}
_RECOVERY_EXPECT_KEYS = {"name": str, "outcome": str, "message_contains": str, "roles": list}


class ScenarioError(BadInput):
    """A scenario file that cannot run; the message starts with ``file:line:``."""


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g}h"


def parse_duration(value: Any) -> float:
    """Hours as a number, or a string like ``1d12h``, ``90m``, ``30s``; returns seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        if not value <= sys.float_info.max:  # nan, inf, or too big to be a time: never due
            raise ValueError(f"{value!r} is not a duration")
        return float(value) * 3600
    if isinstance(value, str):
        m = _DURATION.match(value.strip())
        if m and any(m.groups()):
            d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
            return d * 86400 + h * 3600 + mi * 60 + s
    raise ValueError(f"{value!r} is not a duration (write hours as a number, or e.g. '1d12h', '90m')")


def _type_ok(value: Any, kind: Any) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(kind, tuple) and all(isinstance(k, type) for k in kind):
        return any(_type_ok(value, k) for k in kind)
    return isinstance(value, kind)


def _kind_name(kind: Any) -> str:
    if isinstance(kind, tuple):
        if all(isinstance(k, type) for k in kind):
            return " or ".join(_kind_name(k) for k in kind)
        return "one of " + ", ".join(repr(k) for k in kind)
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
            list: "a list", dict: "a table"}.get(kind, kind.__name__)


class _Reader:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.loc = LineIndex(text)

    def fail(self, line: int, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}:{line}: {key}: {message}")

    def check_keys(self, table: dict[str, Any], allowed: dict[str, Any],
                   path: tuple[str | int, ...], where: str) -> None:
        for key, value in table.items():
            if key not in allowed:
                raise self.fail(self.loc.line(*path, key), f"{where}.{key}",
                                f"unknown key;{_did_you_mean(key, allowed)} "
                                f"allowed: {', '.join(sorted(allowed))}")
            kind = allowed[key]
            if not _type_ok(value, kind):
                raise self.fail(self.loc.line(*path, key), f"{where}.{key}",
                                f"must be {_kind_name(kind)}, got {value!r}")

    def check_top(self, data: dict[str, Any]) -> None:
        """The four tables, each in its own form; a misspelt one is shown as it was written."""
        for key, value in data.items():
            form = self.loc.form(key)
            written = f"[{key}]" if form == "table" else f"[[{key}]]" if form == "array" else key
            if key not in _TOP:
                near = difflib.get_close_matches(key, _TOP, n=1)
                hint = f" did you mean {_TOP[near[0]]}?" if near else ""
                raise self.fail(self.loc.line(key), written,
                                f"unknown {'key' if written == key else 'table'};{hint} a scenario "
                                f"file has {', '.join(_TOP.values())}")
            if not isinstance(value, list if key == "events" else dict):
                raise self.fail(self.loc.line(key), written, f"must be written {_TOP[key]}")


def _did_you_mean(name: str, known: Any) -> str:
    near = difflib.get_close_matches(name, list(known), n=1)
    return f" did you mean {near[0]!r}?" if near else ""


def load(path: str | Path) -> Scenario:
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return loads(text, path)


def loads(text: str, path: str = "<scenario>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ScenarioError(f"{path}:{line.group(1) if line else 1}: not valid TOML: {exc}") from None
    r = _Reader(path, text)
    r.check_top(data)
    head = data.get("scenario")
    if head is None:
        raise r.fail(1, "scenario", "missing the [scenario] table (name, hub, days, ...)")
    r.check_keys(head, _SCENARIO_KEYS, ("scenario",), "scenario")
    for key in ("name", "hub", "days"):
        if key not in head:
            raise r.fail(r.loc.line("scenario"), f"scenario.{key}", "is required")
    hub = str(head["hub"]).lower()
    if hub != "asdk" and not (hub.isdigit() and 4 <= int(hub) <= 16):
        raise r.fail(r.loc.line("scenario", "hub"), "scenario.hub",
                     f"must be 'asdk' or a node count from 4 to 16, got {head['hub']!r}")
    fidelity = head.get("fidelity", "sim")
    if fidelity not in ("sim", "wire"):
        raise r.fail(r.loc.line("scenario", "fidelity"), "scenario.fidelity",
                     f"must be 'sim' or 'wire', got {fidelity!r}")
    if not 0 < head["days"] <= 3650:
        raise r.fail(r.loc.line("scenario", "days"), "scenario.days",
                     f"must be more than 0 and at most 3650, got {head['days']}")
    if head.get("identity", "ADFS") not in ("ADFS", "AzureAD"):
        raise r.fail(r.loc.line("scenario", "identity"), "scenario.identity",
                     "must be 'ADFS' or 'AzureAD'")
    tags = head.get("tags", [])
    if not all(isinstance(t, str) for t in tags):
        raise r.fail(r.loc.line("scenario", "tags"), "scenario.tags", "must be a list of strings")
    settings = data.get("settings", {})
    r.check_keys(settings, SETTINGS_KEYS, ("settings",), "settings")
    _check_settings(r, settings)
    days = float(head["days"])
    events = tuple(_event(r, i, raw, days) for i, raw in enumerate(data.get("events", [])))
    ineffective = first_ineffective(events)
    if ineffective is not None:
        i, key, why = ineffective
        raise r.fail(r.loc.line("events", i, key), f"events[{i + 1}].{key}", why)
    expect = _expectations(r, data.get("expect", {}))
    _check_references(r, events, expect)
    return Scenario(
        name=head["name"], path=path, description=head.get("description", ""),
        tags=tuple(tags), hub=hub, identity=head.get("identity", "ADFS"),
        stamp_version=head.get("stamp_version", "1.2408.1.50"), fidelity=fidelity,
        days=days, seed=head.get("seed", 1), settings=settings,
        events=tuple(sorted(events, key=lambda e: e.at_seconds)), expect=expect,
    )


def _check_settings(r: _Reader, settings: dict[str, Any]) -> None:
    from ibs.engine.settings import check_frequency, check_retention

    for key, check in (("frequency_hours", check_frequency), ("retention_days", check_retention)):
        if key in settings:
            try:
                check(settings[key])
            except BadInput as exc:
                raise r.fail(r.loc.line("settings", key), f"settings.{key}", str(exc)) from None
    for key in ("share_capacity_gb", "link_mb_per_second"):
        if key in settings and settings[key] <= 0:
            raise r.fail(r.loc.line("settings", key), f"settings.{key}", "must be more than 0")
    for key, unit in (("growth_pct_per_year", "pct_per_year"), ("growth_gb_per_day", "gb_per_day")):
        if key in settings:
            try:
                Growth(**{unit: settings[key]})
            except BadInput as exc:
                raise r.fail(r.loc.line("settings", key), f"settings.{key}", str(exc)) from None
    try:
        check_share_used(settings.get("share_used_gb", 0), settings.get("share_capacity_gb", 10_000))
    except BadInput as exc:
        raise r.fail(r.loc.line("settings", "share_used_gb"), "settings.share_used_gb",
                     str(exc)) from None


def _event(r: _Reader, index: int, raw: Any, days: float) -> Event:
    line = r.loc.line("events", index)
    where = f"events[{index + 1}]"
    if not isinstance(raw, dict):
        raise r.fail(line, where, "must be a table")
    if "at" not in raw or "do" not in raw:
        raise r.fail(line, where, "needs 'at' (when) and 'do' (what)")
    try:
        at = parse_duration(raw["at"])
    except ValueError as exc:
        raise r.fail(r.loc.line("events", index, "at"), f"{where}.at", str(exc)) from None
    if ticks(at) >= ticks(days * 86400):  # the run stops the clock first (Hub.run)
        raise r.fail(r.loc.line("events", index, "at"), f"{where}.at",
                     f"{_hours(at)} is not before the run ends at {_hours(days * 86400)} "
                     f"(days = {days:g}), so it would never happen")
    action = raw["do"]
    if not isinstance(action, str) or action not in ACTIONS:
        raise r.fail(r.loc.line("events", index, "do"), f"{where}.do",
                     f"unknown action {action!r};{_did_you_mean(str(action), ACTIONS)} "
                     f"actions: {', '.join(sorted(ACTIONS))}")
    spec = ACTIONS[action]
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("at", "do"):
            continue
        if key not in spec:
            allowed = ", ".join(sorted(spec)) or "none"
            raise r.fail(r.loc.line("events", index, key), f"{where}.{key}",
                         f"'{action}' takes no '{key}';{_did_you_mean(key, spec)} "
                         f"it takes: {allowed}")
        kind = spec[key][0]
        ok = (value in kind) if isinstance(kind, tuple) and not all(isinstance(k, type) for k in kind) \
            else _type_ok(value, kind)
        if not ok:
            raise r.fail(r.loc.line("events", index, key), f"{where}.{key}",
                         f"must be {_kind_name(kind)}, got {value!r}")
        params[key] = value
    for key, (_kind, default) in spec.items():
        if key not in params:
            if default is _REQ:
                raise r.fail(line, f"{where}.{key}", f"'{action}' needs '{key}'")
            params[key] = default
    if "backup" in params:
        ref = params["backup"]
        if isinstance(ref, str) and ref not in BACKUP_REFS or isinstance(ref, int) and ref < 1:
            raise r.fail(r.loc.line("events", index, "backup"), f"{where}.backup",
                         f"must be a backup number (1 = first started) or one of {', '.join(BACKUP_REFS)}")
    return Event(at, action, params, line)


def _expectations(r: _Reader, raw: dict[str, Any]) -> Expectations:
    r.check_keys(raw, _EXPECT_KEYS, ("expect",), "expect")
    for key in ("backups", "min_backups"):
        for status, count in raw.get(key, {}).items():
            if status not in STATUSES or not _type_ok(count, int):
                raise r.fail(r.loc.line("expect", key, status), f"expect.{key}.{status}",
                             f"needs a status ({', '.join(STATUSES)}) and a whole number")
    for key in ("alerts_raised", "alerts_cleared", "alerts_active"):
        for category in raw.get(key, []):
            if category not in CATEGORIES:
                raise r.fail(r.loc.line("expect", key), f"expect.{key}",
                             f"unknown alert category {category!r}; categories: {', '.join(CATEGORIES)}")
    if raw.get("recovery_check", "passed") not in ("passed", "failed", "not run"):
        raise r.fail(r.loc.line("expect", "recovery_check"), "expect.recovery_check",
                     "must be 'passed', 'failed' or 'not run'")
    per_backup = []
    for i, item in enumerate(raw.get("backup", [])):
        r.check_keys(item, _BACKUP_EXPECT_KEYS, ("expect", "backup", i), f"expect.backup[{i + 1}]")
        if "index" not in item:
            raise r.fail(r.loc.line("expect", "backup", i), f"expect.backup[{i + 1}].index",
                         "is required (1 = the first backup started)")
        if item.get("status", "Succeeded") not in STATUSES:
            raise r.fail(r.loc.line("expect", "backup", i, "status"), f"expect.backup[{i + 1}].status",
                         f"must be one of {', '.join(STATUSES)}")
        if item.get("category", "Connectivity") not in CATEGORIES:
            raise r.fail(r.loc.line("expect", "backup", i, "category"),
                         f"expect.backup[{i + 1}].category", f"must be one of {', '.join(CATEGORIES)}")
        per_backup.append(BackupExpectation(**item))
    recoveries = []
    for i, item in enumerate(raw.get("recovery", [])):
        r.check_keys(item, _RECOVERY_EXPECT_KEYS, ("expect", "recovery", i),
                     f"expect.recovery[{i + 1}]")
        if "name" not in item or "outcome" not in item:
            raise r.fail(r.loc.line("expect", "recovery", i), f"expect.recovery[{i + 1}]",
                         "needs 'name' (of a recover event) and 'outcome'")
        if item["outcome"] not in ("passed", "failed", "refused"):
            raise r.fail(r.loc.line("expect", "recovery", i, "outcome"),
                         f"expect.recovery[{i + 1}].outcome", "must be passed, failed or refused")
        roles = item.get("roles")
        recoveries.append(RecoveryExpectation(item["name"], item["outcome"],
                                              item.get("message_contains"),
                                              tuple(roles) if roles is not None else None))
    listed = {k: tuple(raw[k]) for k in ("alerts_raised", "alerts_cleared", "alerts_active",
                                         "failovers") if k in raw}
    return Expectations(
        backups=dict(raw.get("backups", {})), min_backups=dict(raw.get("min_backups", {})),
        per_backup=tuple(per_backup), recoveries=tuple(recoveries),
        share_peak_within_budget=raw.get("share_peak_within_budget"),
        share_peak_max_gb=raw.get("share_peak_max_gb"), share_peak_min_gb=raw.get("share_peak_min_gb"),
        recovery_check=raw.get("recovery_check"), refused_on_demand=raw.get("refused_on_demand"),
        skipped=raw.get("skipped"), no_partial_backups=raw.get("no_partial_backups"),
        no_secrets_leaked=raw.get("no_secrets_leaked"), **listed,
    )


def _check_references(r: _Reader, events: tuple[Event, ...], expect: Expectations) -> None:
    names = [e.params["name"] for e in events if e.action == "recover"]
    for i, rec in enumerate(expect.recoveries):
        if rec.name not in names:
            raise r.fail(r.loc.line("expect", "recovery", i, "name"), f"expect.recovery[{i + 1}].name",
                         f"no recover event is named {rec.name!r} (named: {', '.join(names) or 'none'})")
    seen: set[str] = set()
    for i, event in enumerate(events):
        if event.action == "recover":
            if event.params["name"] in seen:
                raise r.fail(r.loc.line("events", i, "name"), f"events[{i + 1}].name",
                             f"another recover event is already named {event.params['name']!r}")
            seen.add(event.params["name"])
