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
from ibs.simulator.task_batches import Batches, Raised, dearest_first, run_batch

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
#: work stealing is needed either. And the nanny leaves glibc's malloc alone: Dask sets
#: MALLOC_TRIM_THRESHOLD_ in its workers' environment, and glibc turns off its adaptive mmap
#: threshold once any such variable is set, so every buffer of a few MiB (a role's keystream, a
#: chunk) is a fresh mmap the kernel zero-fills page by page: the built-in suite took 8 % more
#: CPU in a worker than in a plain process, and most of 2 workers' speed-up over serial.
#: An external cluster keeps its own settings (SCALING.md).
LOCAL_SETTINGS = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
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
            console: Any = None, failed: Callable[[Any], bool] = lambda r: False,
            costs: Sequence[float] | None = None) -> list[Any]:
    """``fn(*args)`` for each args, in this process (``jobs`` 1, no address) or on Dask; the
    results in call order either way, with progress on stderr. ``costs``: see ``run_tasks``."""
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
                             failed=failed, costs=costs)


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
                yield _prompt(c)
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
            yield _prompt(c)
        finally:
            c.close()


#: The client holds what it sends the scheduler for up to 10 ms to batch it (a fixed setting of
#: ``distributed.Client``): made for graphs of thousands of small tasks. Ours are few, of 0.15 s
#: and more, and a batch sent right after another waited: each worker's first batch started
#: 15 ms into a run instead of 7-8 (``ibs bench cluster``'s suite is 0.47 s on 2 workers).
SEND_SECONDS = 0.002


def _prompt(c: Any) -> Any:
    stream = getattr(c, "scheduler_comm", None)
    if stream is not None and hasattr(stream, "interval"):
        stream.interval = min(stream.interval, SEND_SECONDS)
    return c


def run_tasks(c: Any, fn: Callable[..., Any], calls: Sequence[tuple], *, label: str,
              on_result: Callable[[int, Any], None] = lambda i, r: None,
              on_tally: Callable[[Tally], None] = lambda t: None,
              failed: Callable[[Any], bool] = lambda r: False,
              on_start: Callable[[int], None] | None = None,
              costs: Sequence[float] | None = None) -> list[Any]:
    """Run ``fn(*args)`` for each args in ``calls`` on the cluster; the results in call order.

    ``costs``, one estimate per call in any unit, sends the dearest calls first (longest
    processing time first): a long call that starts last keeps one worker busy while the others
    idle, and the end of a run is where a small suite loses its speed-up. They also size the
    batches by estimated work. Without them the calls go in their own order.

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
                      failed=failed, topic=topic, order=dearest_first(len(calls), costs),
                      costs=costs)
    finally:
        if topic is not None:
            c.unsubscribe_topic(topic)


def _drain(c: Any, fn: Callable[..., Any], calls: Sequence[tuple], *, label: str,
           on_result: Callable[[int, Any], None], on_tally: Callable[[Tally], None],
           failed: Callable[[Any], bool], topic: str | None,
           order: Sequence[int], costs: Sequence[float] | None) -> list[Any]:
    from distributed import as_completed

    results: list[Any] = [None] * len(calls)
    tally = Tally(len(calls))
    on_tally(tally)
    plan = Batches(len(calls), None if costs is None else [costs[i] for i in order])
    slots = Slots(c)
    running: dict[str, tuple[range, list[int]]] = {}
    pending = as_completed()
    first_error: BaseException | None = None

    def top_up() -> None:
        # Two batches per worker thread in flight: the scheduler always has the next one for
        # a worker that finishes, and what is not yet sent can still be cut to the measured
        # cost.
        now = slots()
        while len(running) < 2 * now and (span := plan.next(now)) is not None:
            part = [order[p] for p in span]
            chunk = [calls[i] for i in part]
            future = c.submit(run_batch, fn, chunk, topic, part, pure=False,
                              key=f"{label}-{span.start}-{span.stop}-{_token(chunk)}")
            running[future.key] = span, part
            pending.add(future)

    top_up()
    for future in pending:
        span, part = running.pop(future.key)
        if future.status == "error":
            tally.failed += len(part)
            first_error = first_error or future.exception()
            on_tally(tally)
        else:
            done = future.result()
            plan.measured(span, done.seconds)
            batch = done.results()
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
