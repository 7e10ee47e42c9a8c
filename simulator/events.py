"""The event log of a simulated run: what happened, when, in virtual time, in a stable order."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EventLog:
    start: dt.datetime
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, now: float, event: str, **fields: Any) -> None:
        at = (self.start + dt.timedelta(seconds=now)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.entries.append({"t": round(now, 3), "at": at, "event": event, **fields})

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["event"] == event]

    def to_jsonl(self) -> str:
        return "".join(json.dumps(e, sort_keys=True) + "\n" for e in self.entries)
