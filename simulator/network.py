"""What stands between the backup controller and the share: name resolution, firewalls, the link.

All of it is plain state evaluated at a given virtual time; the hub decides when to look.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ibs.engine.errors import BadInput
from ibs.simulator.clock import TICKS_PER_SECOND

ACTIONS = ("allow", "drop", "reject")
ERCS_VMS = ("ERCS01", "ERCS02", "ERCS03")
SMB_PORT = 445


@dataclass(frozen=True, kw_only=True)
class FirewallRule:
    """Traffic from ``source`` (an ERCS VM, or any) to ``target`` (a host, or any) on ``port``."""

    action: str
    source: str | None = None
    target: str | None = None
    port: int | None = SMB_PORT
    start: float | None = None  # virtual seconds; None = always
    end: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise BadInput(f"firewall action must be one of {', '.join(ACTIONS)}, not {self.action!r}")
        if self.source is not None and self.source not in ERCS_VMS:
            raise BadInput(f"firewall source must be one of {', '.join(ERCS_VMS)}, not {self.source!r}")

    def matches(self, source: str, target: str, port: int, now: float) -> bool:
        return ((self.source is None or self.source == source)
                and (self.target is None or self.target.lower() == target.lower())
                and (self.port is None or self.port == port)
                and (self.start is None or now >= self.start)
                and (self.end is None or now < self.end))


@dataclass
class Firewall:
    """Rules in the order they were added; the last one that matches decides; default allow."""

    rules: list[FirewallRule] = field(default_factory=list)

    def add(self, rule: FirewallRule) -> None:
        self.rules.append(rule)

    def remove(self, name: str) -> None:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.name != name]
        if len(self.rules) == before:
            raise BadInput(f"no firewall rule named {name!r}")

    def verdict(self, source: str, target: str, port: int, now: float) -> str:
        action = "allow"
        for rule in self.rules:
            if rule.matches(source, target, port, now):
                action = rule.action
        return action


@dataclass
class PepDns:
    """Names as the privileged endpoint resolves them: a name resolves unless it is broken."""

    broken: set[str] = field(default_factory=set)

    def resolves(self, host: str) -> bool:
        return host.lower() not in self.broken


DEFAULT_LINK_MB_PER_SECOND = 100  # about what a 1 Gbit/s path to the share carries


@dataclass
class Link:
    """The path to the share, in modelled units."""

    bytes_per_second: float = DEFAULT_LINK_MB_PER_SECOND * 1e6
    latency_seconds: float = 0.002

    def transfer_ticks(self, modelled_bytes: int) -> int:
        """Whole ticks (simulator/clock.py) to carry ``modelled_bytes``: at least one, so time
        moves. One call where three (seconds, ticks, max) ran for each of a year's records."""
        return max(1, round((self.latency_seconds + modelled_bytes / self.bytes_per_second)
                            * TICKS_PER_SECOND))
