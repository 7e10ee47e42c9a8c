"""Running many independent tasks on Dask's distributed scheduler: ``ibs run``, ``ibs fuzz`` and
``ibs sizing --sweep``.

A task is a module-level function and plain arguments (a scenario's text, a seed, a sweep
point); it returns plain data. Nothing of the engine travels: each worker builds its own hub
from what the task carries, so results equal a serial run's byte for byte.

Without an address a local cluster of worker *processes* on 127.0.0.1 is started for the run
and stopped after it; with ``tcp://HOST:PORT`` an existing scheduler is used. A scheduler that
cannot be reached is one line and exit 2 (BadInput), after at most ``CONNECT_SECONDS``.
A worker that dies mid-run loses nothing: the scheduler runs its tasks again elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ibs.engine.errors import BadInput, IbsError

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

CONNECT_SECONDS = 10
#: A task whose worker dies is rescheduled; only a task that kills this many workers in a row
#: (a crash it causes itself) is given up.
ALLOWED_FAILURES = 3
#: A local cluster's workers do nothing but our tasks; Dask's housekeeping for a long-lived,
#: shared cluster costs them CPU they need (on 2 cores, idle: 72 ms of CPU a second across the
#: processes by default, 12 with these): no statistical profiler sampling every task's stack,
#: and slower event-loop and system monitors. A worker is given one task at a time (no
#: prefetched second one that could leave it busy at the end while the other idles), so no
#: work stealing is needed either. An external cluster keeps its own settings (SCALING.md).
LOCAL_SETTINGS = {
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


@dataclass
class Tally:
    total: int
    done: int = 0
    failed: int = 0

    @property
    def running(self) -> int:
        return self.total - self.done - self.failed


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def jobs_arg(text: str) -> int:
    """``--jobs``: a number of worker processes, or ``auto`` for one per core."""
    import argparse

    if text == "auto":
        return cores()
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes or 'auto': {text!r}") from None


def add_options(p: Any, what: str) -> None:
    p.add_argument("--jobs", type=jobs_arg, default=1, metavar="N",
                   help=f"run the {what} on a local Dask cluster of N worker processes on "
                        "127.0.0.1, started and stopped for the run ('auto': one per core; "
                        "default 1: in this process, no cluster)")
    p.add_argument("--cluster", metavar="tcp://HOST:8786",
                   help=f"run the {what} on this existing Dask scheduler's workers "
                        "(docs/SCALING.md)")


def check_options(jobs: int, address: str | None) -> None:
    if jobs < 1:
        raise BadInput(f"--jobs must be 1 or more, got {jobs}")
    if address and jobs != 1:
        raise BadInput("--jobs and --cluster do not go together: the cluster's workers are the "
                       "jobs")


def run_all(fn: Callable[..., Any], calls: Sequence[tuple], *, jobs: int, address: str | None,
            label: str, on_result: Callable[[int, Any], None] = lambda i, r: None,
            console: Any = None, failed: Callable[[Any], bool] = lambda r: False) -> list[Any]:
    """``fn(*args)`` for each args, in this process (``jobs`` 1, no address) or on Dask; the
    results in call order either way, with progress on stderr."""
    with Progress(label, console) as progress:
        if address is None and jobs == 1:
            tally = Tally(len(calls))
            progress(tally)
            results = []
            for i, args in enumerate(calls):
                results.append(fn(*args))
                if failed(results[-1]):
                    tally.failed += 1
                else:
                    tally.done += 1
                on_result(i, results[-1])
                progress(tally)
            return results
        with client(address, jobs) as c:
            return run_tasks(c, fn, calls, label=label, on_result=on_result, on_tally=progress,
                             failed=failed)


def _quiet_logs() -> None:
    import logging

    # A worker lost mid-run is expected and handled; its tracebacks would bury the results.
    for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                 "distributed.worker", "distributed.core", "distributed.comm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def client(address: str | None, workers: int | None = None) -> Iterator[Any]:
    """A connected Dask client: to ``address``, or to a local cluster started for the block."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    _quiet_logs()
    settings = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                "distributed.comm.timeouts.connect": f"{CONNECT_SECONDS}s"}
    with dask.config.set(settings):
        if address is None:
            n = workers or cores()
            with dask.config.set(LOCAL_SETTINGS), \
                    LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address=None,
                                 worker_dashboard_address=None, protocol="tcp",
                                 silence_logs=logging.CRITICAL) as cluster, \
                    Client(cluster) as c:
                yield c
            return
        if "://" not in address:
            raise BadInput(f"--cluster {address}: give a scheduler address such as "
                           "tcp://HOST:8786")
        try:
            c = Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise BadInput(f"--cluster {address}: no Dask scheduler answered within "
                           f"{CONNECT_SECONDS} s ({type(exc).__name__}); start one with "
                           "'dask scheduler' or check the address") from None
        try:
            yield c
        finally:
            c.close()


def run_tasks(c: Any, fn: Callable[..., Any], calls: Sequence[tuple], *, label: str,
              on_result: Callable[[int, Any], None] = lambda i, r: None,
              on_tally: Callable[[Tally], None] = lambda t: None,
              failed: Callable[[Any], bool] = lambda r: False,
              on_start: Callable[[int], None] | None = None) -> list[Any]:
    """Run ``fn(*args)`` for each args in ``calls`` on the cluster; the results in call order.

    Calls travel in batches (``Batches``): one Dask task runs several when they are short, so
    the scheduler's and the workers' per-task costs are paid a few times per worker rather
    than once per call. A batch whose worker dies is run again elsewhere, whole.

    A result for which ``failed`` is true (a scenario that failed its checks, say) counts as
    failed in the tally and is kept. A call that raises also counts as failed, and its
    exception is re-raised once every other call has finished, so a campaign reports all it
    found.

    ``on_start(i)`` is called (on the client's event loop thread) as call ``i`` starts on its
    worker, again if its batch is run again, and always before ``on_result(i, ...)``."""
    topic = None
    if on_start is not None:
        # A worker logs each start on the stream its results take later; the scheduler forwards
        # both to this client in that order, so a start is handled before its batch is done.
        topic = f"{label}-started-{os.urandom(8).hex()}"  # this run's, not another client's
        c.subscribe_topic(topic, lambda event: on_start(event[1]))
    try:
        return _drain(c, fn, calls, label=label, on_result=on_result, on_tally=on_tally,
                      failed=failed, topic=topic)
    finally:
        if topic is not None:
            c.unsubscribe_topic(topic)


def _drain(c: Any, fn: Callable[..., Any], calls: Sequence[tuple], *, label: str,
           on_result: Callable[[int, Any], None], on_tally: Callable[[Tally], None],
           failed: Callable[[Any], bool], topic: str | None) -> list[Any]:
    from distributed import as_completed

    results: list[Any] = [None] * len(calls)
    tally = Tally(len(calls))
    on_tally(tally)
    plan = Batches(len(calls))
    slots = Slots(c)
    running: dict[str, range] = {}
    pending = as_completed()
    first_error: BaseException | None = None

    def top_up() -> None:
        # Two batches per worker thread in flight: the scheduler always has the next one for
        # a worker that finishes, and what is not yet sent can still be cut to the measured
        # cost.
        now = slots()
        while len(running) < 2 * now and (part := plan.next(now)) is not None:
            chunk = [calls[i] for i in part]
            future = c.submit(run_batch, fn, chunk, topic, part.start, pure=False,
                              key=f"{label}-{part.start}-{part.stop}-{_token(chunk)}")
            running[future.key] = part
            pending.add(future)

    top_up()
    for future in pending:
        part = running.pop(future.key)
        if future.status == "error":
            tally.failed += len(part)
            first_error = first_error or future.exception()
            on_tally(tally)
        else:
            batch, seconds = future.result()
            plan.measured(len(part), seconds)
            for i, result in zip(part, batch, strict=True):
                if isinstance(result, Raised):
                    tally.failed += 1
                    first_error = first_error or result.exception()
                else:
                    results[i] = result
                    if failed(result):
                        tally.failed += 1
                    else:
                        tally.done += 1
                    on_result(i, result)
                on_tally(tally)
        future.release()
        top_up()
    if first_error is not None:
        from distributed import KilledWorker

        if isinstance(first_error, KilledWorker):
            raise IbsError(f"{tally.failed} of {tally.total} {label} tasks lost their worker "
                           "each time they ran (a task that crashes its worker, or workers "
                           "short of memory); the scheduler's log names them") from None
        raise first_error
    return results


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


def run_batch(fn: Callable[..., Any], calls: Sequence[tuple], topic: str | None = None,
              first: int = 0) -> tuple[list[Any], float]:
    """On a worker: ``fn(*args)`` for each args (a ``Raised`` for a call that raises, so the
    others' results still come home), and the CPU seconds they took (this thread's).

    With a ``topic``, each call's number (``first`` for the first) is logged under it as the
    call starts, for the client subscribed to it (``run_tasks``'s ``on_start``)."""
    import traceback

    tell: Callable[[int], None] = lambda i: None
    if topic is not None:
        from distributed import get_worker

        log_event, where = get_worker().log_event, topic
        tell = lambda i: log_event(where, i)
    start = time.thread_time()
    results: list[Any] = []
    for k, args in enumerate(calls):
        tell(first + k)
        try:
            results.append(fn(*args))
        except Exception as exc:  # noqa: BLE001  (each call's error goes home with its place)
            results.append(Raised(exc, traceback.format_exc()))
    return results, time.thread_time() - start


class Slots:
    """Threads across the cluster's workers, at least 1: asked again after a second, since
    workers join and leave during a run (an RPC to the scheduler each time)."""

    def __init__(self, c: Any) -> None:
        self.c = c
        self.asked = -1.0
        self.threads = 1

    def __call__(self) -> int:
        if time.monotonic() - self.asked >= 1.0:
            self.threads = max(1, sum(self.c.nthreads().values()))
            self.asked = time.monotonic()
        return self.threads


def _token(args: Any) -> str:
    import hashlib

    return hashlib.sha256(repr(args).encode()).hexdigest()[:12]


class Progress:
    """done/failed/running across the cluster: a rich bar on a terminal, lines otherwise."""

    def __init__(self, what: str, console: Any = None) -> None:
        from rich.console import Console

        self.what = what
        self.console = console or Console(stderr=True, highlight=False)
        self.bar: tuple[Bar, TaskID] | None = None  # on a terminal, while entered
        self._last_line = -1

    def __enter__(self) -> Self:
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            bar = Bar("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                      transient=True)
            bar.__enter__()
            self.bar = bar, bar.add_task(self.what, total=None)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar[0].__exit__(kind, exc, tb)

    def __call__(self, t: Tally) -> None:
        text = f"{self.what}: {t.done} done, {t.failed} failed, {t.running} running"
        if self.bar is not None:
            bar, task = self.bar
            bar.update(task, total=t.total, completed=t.done + t.failed, description=text)
            return
        # Off a terminal: a line at the start, at every tenth, and at the end; logs stay short.
        finished = t.done + t.failed
        step = max(1, -(-t.total // 10))
        new_step = finished // step != self._last_line // step
        if finished != self._last_line and (finished in (0, t.total) or new_step):
            self.console.print(text)
            self._last_line = finished
