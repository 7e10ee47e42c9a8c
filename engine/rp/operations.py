"""Long-running operations, as ARM polls them, kept in the store.

A request that starts one gets 202 with ``Azure-AsyncOperation`` (the status:
InProgress / Succeeded / Failed) and ``Location`` (202 while running, then the final answer:
the status code and body the operation would have returned synchronously).

Each operation is a file, ``rp-operations/<id>.json``, written when it starts and when it ends,
so polling still answers after the provider restarts. An operation a dead process left
InProgress is settled when it is next read: a backup by its job record (the controller settles
an interrupted job), anything else as Failed, "interrupted by a restart".
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ibs.engine.clock import Clock
from ibs.engine.manifest import format_time
from ibs.engine.store import Store

FOLDER = "rp-operations"
KEEP = 500  # finished operations remembered for polling
_ID = "0123456789abcdef-"


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
    backupId: str | None = None  # a CreateBackup's job: how it is settled after a restart
    pid: int = field(default_factory=os.getpid)

    def status_json(self, resource_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": resource_id, "name": self.id, "status": self.status,
                               "startTime": self.startTime, "endTime": self.endTime,
                               "operationType": self.kind}
        if self.outcome is not None and self.outcome.error is not None:
            out["error"] = self.outcome.error
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> Operation | None:
        try:
            outcome = raw.get("outcome")
            return cls(id=str(raw["id"]), kind=str(raw["kind"]), startTime=str(raw["startTime"]),
                       status=str(raw["status"]), endTime=raw.get("endTime"),
                       outcome=Outcome(**outcome) if isinstance(outcome, dict) else None,
                       backupId=raw.get("backupId"), pid=int(raw.get("pid") or 0))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # a damaged operation file: as if unknown (404), never a 500


class Operations:
    def __init__(self, store: Store, clock: Clock, on_crash: Callable[[Exception], Outcome],
                 settle: Callable[[Operation], Outcome | None] | None = None) -> None:
        self._store = store
        self._clock = clock
        self._on_crash = on_crash
        self._settle = settle
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        os.makedirs(store.path(FOLDER), mode=0o700, exist_ok=True)

    def _name(self, op_id: str) -> str:
        return os.path.join(FOLDER, f"{op_id}.json")

    def _save(self, op: Operation) -> None:
        self._store.write_json(self._name(op.id), op.to_json())

    def _new(self, kind: str, backup_id: str | None = None) -> Operation:
        op = Operation(str(uuid.uuid4()), kind, format_time(self._clock.now()), backupId=backup_id)
        self._save(op)
        self._forget_old()
        return op

    def _forget_old(self) -> None:
        folder = self._store.path(FOLDER)
        try:
            names = [n for n in os.listdir(folder) if n.endswith(".json")]
        except OSError:
            return
        if len(names) <= KEEP:
            return
        by_age = sorted(names, key=lambda n: _mtime(os.path.join(folder, n)))
        for name in by_age[:len(names) - KEEP]:
            if name[:-5] not in self._threads:
                try:
                    os.unlink(os.path.join(folder, name))
                except OSError:
                    pass

    def _finish(self, op: Operation, outcome: Outcome) -> None:
        op.outcome = outcome
        op.endTime = format_time(self._clock.now())
        op.status = "Failed" if outcome.error is not None else "Succeeded"
        self._save(op)

    def done(self, kind: str, outcome: Outcome) -> Operation:
        """An operation whose work was already done while the request was answered."""
        op = self._new(kind)
        self._finish(op, outcome)
        return op

    def start(self, kind: str, work: Callable[[], Outcome],
              backup_id: str | None = None) -> Operation:
        op = self._new(kind, backup_id)

        def run() -> None:
            try:
                outcome = work()
            except Exception as exc:  # noqa: BLE001 (reported through the operation)
                outcome = self._on_crash(exc)
            try:
                self._finish(op, outcome)
            finally:
                with self._lock:
                    self._threads.pop(op.id, None)

        thread = threading.Thread(target=run, name=f"rp-{kind}-{op.id[:8]}", daemon=True)
        with self._lock:
            self._threads[op.id] = thread
        thread.start()
        return op

    def get(self, op_id: str) -> Operation | None:
        if len(op_id) != 36 or any(c not in _ID for c in op_id.lower()):
            return None
        op = self._read(op_id)
        if op is None or op.status != "InProgress":
            return op
        with self._lock:
            if op.id in self._threads:
                return op
        # Not running here. Its thread may have ended since the read above: a thread saves its
        # outcome before it leaves _threads, so a second read sees the outcome. Without it, a
        # poll racing the end of its own operation settled a success as "interrupted".
        op = self._read(op_id)
        if op is None or op.status != "InProgress":
            return op
        if op.pid != os.getpid() and _alive(op.pid):
            return op
        # Left InProgress by a process that is gone (a restart): settle it now, once.
        outcome = self._settle(op) if self._settle is not None else None
        if outcome is None:
            error = {"code": "Interrupted", "message": "the provider restarted while this "
                     "operation ran; start it again"}
            outcome = Outcome(500, {"error": error}, error)
        self._finish(op, outcome)
        return op

    def _read(self, op_id: str) -> Operation | None:
        return Operation.from_json(self._store.read_json(self._name(op_id.lower())))

    def join(self, timeout: float) -> None:
        """Wait for running operations (a clean shutdown lets a backup job finish)."""
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(timeout)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
