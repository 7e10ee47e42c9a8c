"""Long-running operations, as ARM polls them.

A request that starts one gets 202 with ``Azure-AsyncOperation`` (the status:
InProgress / Succeeded / Failed) and ``Location`` (202 while running, then the final answer:
the status code and body the operation would have returned synchronously). Operations live
in memory: after a restart their ids are unknown (404), the resources they made are not.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ibs.engine.clock import Clock
from ibs.engine.manifest import format_time

KEEP = 500  # finished operations remembered for polling


@dataclass
class Outcome:
    """What the operation's Location answers once done; ``error`` marks the operation Failed."""

    status: int
    body: Any
    error: dict[str, str] | None = None


@dataclass
class Operation:
    id: str
    kind: str
    startTime: str
    status: str = "InProgress"
    endTime: str | None = None
    outcome: Outcome | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def status_json(self, resource_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": resource_id, "name": self.id, "status": self.status,
                               "startTime": self.startTime, "endTime": self.endTime,
                               "operationType": self.kind}
        if self.outcome is not None and self.outcome.error is not None:
            out["error"] = self.outcome.error
        return out


class Operations:
    def __init__(self, clock: Clock, on_crash: Callable[[Exception], Outcome]) -> None:
        self._clock = clock
        self._on_crash = on_crash
        self._ops: OrderedDict[str, Operation] = OrderedDict()
        self._lock = threading.Lock()

    def _new(self, kind: str) -> Operation:
        op = Operation(str(uuid.uuid4()), kind, format_time(self._clock.now()))
        with self._lock:
            self._ops[op.id] = op
            while len(self._ops) > KEEP:
                oldest = next(iter(self._ops.values()))
                if oldest.status == "InProgress":
                    break
                self._ops.popitem(last=False)
        return op

    def _finish(self, op: Operation, outcome: Outcome) -> None:
        with self._lock:
            op.outcome = outcome
            op.endTime = format_time(self._clock.now())
            op.status = "Failed" if outcome.error is not None else "Succeeded"

    def done(self, kind: str, outcome: Outcome) -> Operation:
        """An operation whose work was already done while the request was answered."""
        op = self._new(kind)
        self._finish(op, outcome)
        return op

    def start(self, kind: str, work: Callable[[], Outcome]) -> Operation:
        op = self._new(kind)

        def run() -> None:
            try:
                outcome = work()
            except Exception as exc:  # reported through the operation, never lost
                outcome = self._on_crash(exc)
            self._finish(op, outcome)

        op.thread = threading.Thread(target=run, name=f"rp-{kind}-{op.id[:8]}", daemon=True)
        op.thread.start()
        return op

    def get(self, op_id: str) -> Operation | None:
        with self._lock:
            return self._ops.get(op_id)

    def join(self, timeout: float) -> None:
        """Wait for running operations (a clean shutdown lets a backup job finish)."""
        with self._lock:
            threads = [op.thread for op in self._ops.values() if op.thread is not None]
        for t in threads:
            t.join(timeout)
