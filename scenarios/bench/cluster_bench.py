"""``ibs bench cluster``: the built-in scenarios at sim fidelity on a local Dask cluster of 2
workers against a serial run, and Dask's scheduling overhead per empty task.

Targets: the suite at least 1.7x faster on the cluster than serially, and under 50 ms a task of
scheduling overhead. Both sides are warm (each process ran every scenario once) and the cluster
is started before the clock runs: its start-up is reported apart, since a long campaign pays it once. CPU seconds
(serial: this process; cluster: the workers' own) are reported beside wall seconds, because on
a shared machine wall time says as much about the neighbours as about us.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Contender, Report, Target

if TYPE_CHECKING:
    from rich.console import Console

SPEEDUP = 1.7
OVERHEAD_MS = 50.0
EMPTY_TASKS = 200


def noop(i: int) -> int:
    return i


def cpu_seconds() -> float:
    """This process's CPU time, user and system (on a worker: the worker's)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def warm(calls: list[tuple]) -> None:
    """Every scenario once, untimed, in this process (on a worker: that worker).

    Warm means more than imported: the first run of the suite in a process costs about 4 %
    more CPU than the next ones (caches filling), and on the cluster each worker would pay
    that once, serially only one process."""
    from ibs.scenarios.tasks import run_scenario_text

    for args in calls:
        run_scenario_text(*args)


def _calls(library: Path) -> list[tuple]:
    return [(p.read_text(encoding="utf-8"), str(p), "sim", None)
            for p in sorted(library.glob("*.toml"))]


def run_cluster_bench(library: Path, workers: int, console: Console) -> Report:
    from ibs.scenarios.tasks import run_scenario_text
    from ibs.simulator import cluster

    calls = _calls(library)
    report = Report(kind="cluster", size_mib=0, method=(
        f"The {len(calls)} scenarios of {library} at sim fidelity, each a task carrying its "
        f"text (scenarios/tasks.py): serially in this process, then on a local Dask cluster of "
        f"{workers} worker processes (1 thread each) on 127.0.0.1, in batches "
        f"(simulator/cluster.py), both warm (each process ran every scenario once untimed), "
        f"the cluster started before timing. Overhead: {EMPTY_TASKS} empty tasks submitted one after "
        f"another (submit, wait for the result), wall time / {EMPTY_TASKS}; and the same tasks "
        "submitted at once (throughput). CPU: getrusage of this process (serial) and of each "
        "worker (cluster)."))
    load_before = os.getloadavg()
    console.print(f"serial: warming up ({len(calls)} scenarios)")
    warm(calls)
    console.print(f"serial: {len(calls)} scenarios")
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    serial = [run_scenario_text(*c) for c in calls]
    serial_s, serial_cpu = time.perf_counter() - t0, cpu_seconds() - cpu0

    console.print(f"cluster: starting {workers} workers")
    t0 = time.perf_counter()
    with cluster.client(None, workers) as c:
        startup_s = time.perf_counter() - t0
        console.print(f"cluster: warming up ({len(calls)} scenarios on each worker)")
        c.run(warm, calls)
        before = c.run(cpu_seconds)
        console.print(f"cluster: {len(calls)} scenarios")
        t0 = time.perf_counter()
        parallel = cluster.run_tasks(c, run_scenario_text, calls, label="bench")
        cluster_s = time.perf_counter() - t0
        after = c.run(cpu_seconds)
        per_worker = [after[w] - before.get(w, 0.0) for w in after]
        cluster_cpu = sum(per_worker)
        console.print(f"overhead: {EMPTY_TASKS} empty tasks")
        t0 = time.perf_counter()
        for i in range(EMPTY_TASKS):
            c.submit(noop, i, pure=False).result()
        one_by_one_ms = (time.perf_counter() - t0) * 1000 / EMPTY_TASKS
        t0 = time.perf_counter()
        c.gather(c.map(noop, range(EMPTY_TASKS), pure=False))
        batch_ms = (time.perf_counter() - t0) * 1000 / EMPTY_TASKS
    load_after = os.getloadavg()

    same = [_essence(a) for a in serial] == [_essence(b) for b in parallel]
    speedup = serial_s / cluster_s if cluster_s else None
    report.contenders += [
        Contender("serial (this process)", serial_s, 0, f"CPU {serial_cpu:.2f} s"),
        Contender(f"Dask, {workers} workers", cluster_s, 0,
                  f"CPU {cluster_cpu:.2f} s across workers; start-up {startup_s:.2f} s apart"),
    ]
    report.targets += [
        Target(f"suite speed-up, {workers} workers vs serial", speedup, f">= {SPEEDUP:g}x",
               None if speedup is None else speedup >= SPEEDUP and same,
               f"serial {serial_s:.2f} s, cluster {cluster_s:.2f} s"
               + ("" if same else "; RESULTS DIFFER from serial")),
        Target("scheduling overhead per empty task", one_by_one_ms, f"< {OVERHEAD_MS:g} ms",
               one_by_one_ms < OVERHEAD_MS,
               f"one by one {one_by_one_ms:.1f} ms; all at once {batch_ms:.2f} ms a task",
               unit="ms"),
    ]
    busiest = max(per_worker)
    cpu_bound = serial_cpu / busiest if busiest else 0.0
    report.notes += [
        (f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
         f"(on {os.cpu_count()} CPUs): other work on the machine slows both sides unevenly"),
        f"results equal to serial: {'yes' if same else 'NO'}",
        (f"CPU: serial {serial_cpu:.2f} s, workers {cluster_cpu:.2f} s in all, the busiest "
         f"{busiest:.2f} s: with the cores to ourselves the speed-up would be about serial CPU "
         f"/ busiest worker's CPU = {cpu_bound:.2f}x (less the scheduler's share)"),
        (f"per-scenario cost: {serial_s / len(calls) * 1000:.0f} ms wall, "
         f"{serial_cpu / len(calls) * 1000:.0f} ms CPU (serial)"),
    ]
    report.extra = {"startupSeconds": startup_s, "serialCpuSeconds": serial_cpu,
                    "clusterCpuSeconds": cluster_cpu, "busiestWorkerCpuSeconds": busiest,
                    "cpuBoundSpeedup": cpu_bound, "overheadMsOneByOne": one_by_one_ms,
                    "overheadMsBatch": batch_ms, "scenarios": len(calls), "workers": workers,
                    "sameResults": same, "loadAverage": [load_before[0], load_after[0]]}
    return report


def _essence(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "seconds"}
