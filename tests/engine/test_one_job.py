"""Two processes asking for a backup at the same moment: exactly one runs."""

from __future__ import annotations

import multiprocessing as mp

from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import JobSlotTaken
from ibs.engine.store import Store


def _ask(store_root: str, barrier, winner_may_finish, results) -> None:
    ctl = Controller(Store(store_root), SystemClock(), chunk_size=4096)
    barrier.wait()
    try:
        job = ctl.start_backup()
    except JobSlotTaken:
        results.put("refused")
        winner_may_finish.set()
        return
    results.put("running")
    # Hold the slot until the other process has had its answer, so "at once" is certain.
    winner_may_finish.wait(30)
    results.put(job.run().status)


def test_two_processes_exactly_one_runs(rig):
    ctx = mp.get_context("spawn")
    barrier, done, results = ctx.Barrier(2), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(rig.ctl.store.root, barrier, done, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    answers = sorted(results.get(timeout=5) for _ in range(3))
    assert answers == sorted(["refused", "running", "Succeeded"])
    assert [r.status for r in rig.ctl.backups()] == ["Succeeded"]
