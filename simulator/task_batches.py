"""Cutting a run's calls into Dask tasks, and running one task's calls on a worker.

The order the calls go in (the dearest first, when their costs are estimated), how many share
one task (guided self-scheduling on their measured cost), and the batch itself: each call's
result or exception comes home in its place. ``simulator/cluster.py`` sends the tasks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: A batch aims at this much work, by the mean CPU time of the calls measured so far: CPU, not
#: wall, since the per-task costs it amortizes are CPU, and wall time on a loaded machine
#: would keep batches single.
BATCH_SECONDS = 0.5
#: ... and takes at most 1/(SHARE x slots) of the calls left, so batches shrink towards the
#: end and the run ends on single calls spread over every worker (guided self-scheduling).
SHARE = 2


class Batches:
    """Cuts calls 0..n-1 into consecutive ranges, in order, each sized when it is sent.

    Until a first batch has come back nothing is known of the calls' cost, so the first ones
    are single calls; a call of seconds (a sweep point, a fuzz batch) stays a task of its own."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.sent = 0
        self.calls = 0
        self.seconds = 0.0

    def measured(self, calls: int, seconds: float) -> None:
        self.calls += calls
        self.seconds += seconds

    def size(self, slots: int) -> int:
        if not self.calls or not self.seconds:
            return 1
        by_cost = int(BATCH_SECONDS / (self.seconds / self.calls))
        by_share = -(-(self.n - self.sent) // (SHARE * max(1, slots)))
        return max(1, min(by_cost, by_share))

    def next(self, slots: int) -> range | None:
        if self.sent >= self.n:
            return None
        part = range(self.sent, min(self.n, self.sent + self.size(slots)))
        self.sent = part.stop
        return part


@dataclass
class Raised:
    """A call that raised on a worker: its exception and the worker's traceback."""

    error: BaseException
    trace: str

    def exception(self) -> BaseException:
        self.error.add_note(f"raised on a Dask worker:\n{self.trace}")
        return self.error


def dearest_first(n: int, costs: Sequence[float] | None) -> list[int]:
    """Call numbers 0..n-1 in the order they are sent: by falling cost, ties (and no costs at
    all) in call order."""
    if costs is None:
        return list(range(n))
    if len(costs) != n:
        raise ValueError(f"{len(costs)} costs for {n} calls")
    return sorted(range(n), key=lambda i: -costs[i])


def run_batch(fn: Callable[..., Any], calls: Sequence[tuple], topic: str | None = None,
              numbers: Sequence[int] | None = None) -> tuple[list[Any], float]:
    """On a worker: ``fn(*args)`` for each args (a ``Raised`` for a call that raises, so the
    others' results still come home), and the CPU seconds they took (this thread's).

    With a ``topic``, each call's number (from ``numbers``; 0, 1, ... without) is logged under
    it as the call starts, for the client subscribed to it (``run_tasks``'s ``on_start``)."""
    import traceback

    tell: Callable[[int], None] = lambda i: None
    if topic is not None:
        from distributed import get_worker

        log_event, where = get_worker().log_event, topic
        tell = lambda i: log_event(where, i)
    start = time.thread_time()
    results: list[Any] = []
    for k, args in enumerate(calls):
        tell(numbers[k] if numbers is not None else k)
        try:
            results.append(fn(*args))
        except Exception as exc:  # noqa: BLE001  (each call's error goes home with its place)
            results.append(Raised(exc, traceback.format_exc()))
    return results, time.thread_time() - start
