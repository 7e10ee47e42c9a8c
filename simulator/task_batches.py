"""Cutting a run's calls into Dask tasks, and running one task's calls on a worker.

The order the calls go in (the dearest first, when their costs are estimated), how many share
one task (guided self-scheduling, on the estimated work left when there are estimates and on
the calls left when not, within bounds set by the measured cost), and the batch itself: each
call's result or exception comes home in its place. ``simulator/cluster.py`` sends the tasks.
"""

from __future__ import annotations

import math
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: A batch aims at no more than this much work, by the measured CPU time of the calls so far:
#: CPU, not wall, since the per-task costs it amortizes are CPU, and wall time on a loaded
#: machine would keep batches single.
BATCH_SECONDS = 0.5
#: ... and, once a cost is measured, at least this much. A Dask task costs its worker about
#: 15 ms on a 2-core machine: 10 ms of CPU across the client's process (where a local
#: scheduler runs), the scheduler and the worker (``ibs bench cluster``), and 3-6 ms waiting
#: for its next batch; at this floor that is a tenth of the batch. A tail of single 15 ms
#: calls paid it for each. A run's last batches differ by at most this much.
MIN_BATCH_SECONDS = 0.15
#: A batch takes at most 1/(SHARE x slots) of what is left (the estimated work, or the calls),
#: so batches shrink towards the end and the run ends on small ones spread over every worker
#: (guided self-scheduling).
SHARE = 2


class Batches:
    """Cuts calls 0..n-1 (in the order they are sent) into consecutive ranges, each sized when
    it is sent.

    ``costs``, the calls' estimates in that order (any unit), size a batch by estimated work,
    so a batch of the dearest calls holds fewer of them; without them every call counts the
    same. Until a batch has come back nothing is known of what a unit of either costs, so the
    bounds in seconds start with the first measurement; until then a batch is a single call
    when there are no estimates. A call of seconds (a sweep point, a fuzz batch) stays a task
    of its own."""

    def __init__(self, n: int, costs: Sequence[float] | None = None) -> None:
        _check_costs(n, costs)
        self.n = n
        self.sent = 0
        self.seconds = 0.0
        self.weighted = costs is not None and any(costs)
        # Work still to send, from each call on: the estimates when they say anything, else 1
        # a call. A call estimated at 0 counts as the cheapest estimated one: as 0, every such
        # call would fit in any batch, and the last would take them all.
        weights = [1.0] * n
        if costs is not None and self.weighted:
            least = min(c for c in costs if c > 0)
            weights = [c if c > 0 else least for c in costs]
        self._after = [0.0] * (n + 1)
        for i in range(n - 1, -1, -1):
            self._after[i] = self._after[i + 1] + weights[i]
        self._units = 0.0  # estimated units of the calls measured

    def measured(self, part: range, seconds: float) -> None:
        """The calls of ``part`` came home having taken ``seconds`` of CPU."""
        self.seconds += seconds
        self._units += self._after[part.start] - self._after[part.stop]

    def _unit_seconds(self) -> float | None:
        if not self._units or not self.seconds:
            return None
        return self.seconds / self._units

    def next(self, slots: int) -> range | None:
        if self.sent >= self.n:
            return None
        start, after = self.sent, self._after
        left = after[start]
        most = left / (SHARE * max(1, slots))
        if (rate := self._unit_seconds()) is not None:
            most = min(max(most, MIN_BATCH_SECONDS / rate), BATCH_SECONDS / rate)
        elif not self.weighted:
            most = 0.0  # nothing measured, nothing estimated: one call
        # The longest run of calls from ``start`` whose work fits in ``most``, at least one.
        stop = start + 1
        while stop < self.n and left - after[stop + 1] <= most * (1 + 1e-9):
            stop += 1
        self.sent = stop
        return range(start, stop)


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
    _check_costs(n, costs)
    return sorted(range(n), key=lambda i: -costs[i])


def _check_costs(n: int, costs: Sequence[float] | None) -> None:
    if costs is None:
        return
    if len(costs) != n:
        raise ValueError(f"{len(costs)} costs for {n} calls")
    bad = [c for c in costs if not (math.isfinite(c) and c >= 0)]
    if bad:
        raise ValueError(f"a cost estimate must be a finite number >= 0, not {bad[0]!r}")


class Done:
    """A batch's results as they travel home: pickled on the worker, by the batch itself.

    Dask sizes every task's result when it is made, walking a nest of lists and dicts item by
    item (``dask.sizeof``, with random samples of the long ones): for a suite's scenario
    results that walk was most of a worker's own CPU per task, more than pickling them. Bytes
    are sized by their length, and Dask sends them as they are."""

    __slots__ = ("payload", "seconds")

    def __init__(self, results: list[Any], seconds: float) -> None:
        self.payload = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
        self.seconds = seconds  # the calls' CPU seconds, on the worker's thread

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + sys.getsizeof(self.payload)

    def results(self) -> list[Any]:
        return pickle.loads(self.payload)


def run_batch(fn: Callable[..., Any], calls: Sequence[tuple], topic: str | None = None,
              numbers: Sequence[int] | None = None) -> Done:
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
    return Done(results, time.thread_time() - start)
