"""Long-running operations as a poller sees them (engine/rp/operations.py)."""

from __future__ import annotations

import threading

from ibs.engine.clock import SystemClock
from ibs.engine.rp.operations import Operations, Outcome
from ibs.engine.store import Store


def _crash(exc: Exception) -> Outcome:
    return Outcome(500, {"error": str(exc)}, {"code": "Crash", "message": str(exc)})


def test_a_poll_that_races_the_end_of_its_operation_gets_the_outcome(tmp_path):
    """The poll reads the operation while it runs; its thread then ends before the poll looks
    for it among the running ones. That success must not be settled as "interrupted"."""
    store = Store(str(tmp_path))
    ops = Operations(store, SystemClock(), _crash)
    release = threading.Event()
    op = ops.start("RestoreBackup", lambda: (release.wait(10), Outcome(200, {"target": "t"}))[1])
    real_read = store.read_json
    first = [True]

    def read_then_let_it_finish(name, default=None):
        value = real_read(name, default)
        if first[0] and name.endswith(f"{op.id}.json"):
            first[0] = False
            release.set()
            ops.join(10)  # the operation ends between this read and the poll's next step
        return value

    store.read_json = read_then_let_it_finish  # type: ignore[method-assign]
    polled = ops.get(op.id)
    assert polled is not None
    assert (polled.status, polled.outcome) == ("Succeeded", Outcome(200, {"target": "t"}))
    store.read_json = real_read  # type: ignore[method-assign]
    assert ops.get(op.id).outcome == Outcome(200, {"target": "t"})  # and it stays so


def test_an_operation_left_running_by_a_dead_process_is_settled_once(tmp_path):
    store = Store(str(tmp_path))
    ops = Operations(store, SystemClock(), _crash)
    op = ops.start("RestoreBackup", lambda: Outcome(200, {}))
    ops.join(10)
    raw = store.read_json(f"rp-operations/{op.id}.json")
    store.write_json(f"rp-operations/{op.id}.json",
                     {**raw, "status": "InProgress", "outcome": None, "endTime": None, "pid": 0})
    settled = Operations(store, SystemClock(), _crash).get(op.id)
    assert settled is not None and settled.status == "Failed"
    assert settled.outcome is not None and settled.outcome.error["code"] == "Interrupted"
