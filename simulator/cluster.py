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
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None,
                              worker_dashboard_address=None, protocol="tcp",
                              silence_logs=logging.CRITICAL) as cluster, Client(cluster) as c:
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
              failed: Callable[[Any], bool] = lambda r: False) -> list[Any]:
    """Run ``fn(*args)`` for each args in ``calls`` on the cluster; the results in call order.

    A result for which ``failed`` is true (a scenario that failed its checks, say) counts as
    failed in the tally and is kept. A task that raises also counts as failed, and its
    exception is re-raised once every other task has finished, so a campaign reports all it
    found."""
    from distributed import as_completed

    futures = [c.submit(fn, *args, key=f"{label}-{i}-{_token(args)}", pure=False)
               for i, args in enumerate(calls)]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    tally = Tally(len(futures))
    on_tally(tally)
    first_error: BaseException | None = None
    for future in as_completed(futures):
        i = index[future.key]
        if future.status == "error":
            tally.failed += 1
            if first_error is None:
                first_error = future.exception()
        else:
            results[i] = future.result()
            if failed(results[i]):
                tally.failed += 1
            else:
                tally.done += 1
            on_result(i, results[i])
        on_tally(tally)
        future.release()
    if first_error is not None:
        from distributed import KilledWorker

        if isinstance(first_error, KilledWorker):
            raise IbsError(f"{tally.failed} of {tally.total} {label} tasks lost their worker "
                           "each time they ran (a task that crashes its worker, or workers "
                           "short of memory); the scheduler's log names them") from None
        raise first_error
    return results


def _token(args: tuple) -> str:
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
