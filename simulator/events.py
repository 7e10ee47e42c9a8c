"""The event log of a simulated run: what happened, when, in virtual time, in a stable order."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ibs.simulator.clock import seconds


@dataclass
class EventLog:
    start: dt.datetime
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, now: int, event: str, **fields: Any) -> None:
        """``now`` in ticks (simulator/clock.py); entries show virtual seconds and the time."""
        at = (self.start + dt.timedelta(microseconds=now)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.entries.append({"t": round(seconds(now), 3), "at": at, "event": event, **fields})

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["event"] == event]

    def to_jsonl(self) -> str:
        return "".join(json.dumps(e, sort_keys=True) + "\n" for e in self.entries)
