"""What a scenario is, once read and checked: frozen data, no behaviour.

docs/SCENARIOS.md describes the TOML form; scenarios/loader.py turns a file into these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    at_seconds: float
    action: str
    params: dict[str, Any]
    line: int  # where it was written, for messages


@dataclass(frozen=True)
class BackupExpectation:
    index: int  # 1 = the first backup started in the run
    status: str | None = None
    category: str | None = None
    message_contains: str | None = None
    trigger: str | None = None
    transfer_encrypted: bool | None = None


@dataclass(frozen=True)
class RecoveryExpectation:
    name: str
    outcome: str  # passed, failed, refused
    message_contains: str | None = None
    roles: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Expectations:
    backups: dict[str, int] = field(default_factory=dict)  # exact counts by status
    min_backups: dict[str, int] = field(default_factory=dict)
    per_backup: tuple[BackupExpectation, ...] = ()
    alerts_raised: tuple[str, ...] | None = None  # exactly these categories, in order of raising
    alerts_cleared: tuple[str, ...] | None = None
    alerts_active: tuple[str, ...] | None = None
    share_peak_within_budget: bool | None = None
    share_peak_max_gb: float | None = None
    share_peak_min_gb: float | None = None
    recovery_check: str | None = None  # passed, failed, not run
    recoveries: tuple[RecoveryExpectation, ...] = ()
    refused_on_demand: int | None = None
    skipped: int | None = None
    no_partial_backups: bool | None = None
    no_secrets_leaked: bool | None = None
    failovers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    description: str
    tags: tuple[str, ...]
    hub: str
    identity: str
    stamp_version: str
    fidelity: str
    days: float
    seed: int
    settings: dict[str, Any]
    events: tuple[Event, ...]
    expect: Expectations

    def with_overrides(self, *, fidelity: str | None = None, seed: int | None = None) -> Scenario:
        from dataclasses import replace

        return replace(self, fidelity=fidelity or self.fidelity,
                       seed=self.seed if seed is None else seed)
