"""``ibs bench cluster``: the built-in scenarios at sim fidelity on a local Dask cluster of 2
workers against a serial run, and Dask's scheduling overhead per empty task.

Targets: the suite at least 1.7x faster on the cluster than serially, and under 50 ms a task of
scheduling overhead. Both sides are warm (each process ran every scenario once) and the cluster
is started before the clock runs: its start-up is reported apart, since a long campaign pays it
once. Serial and cluster take turns for a few rounds; each round's pair gives a ratio, and the
speed-up is their median (a neighbour's burst slows the pair it falls in, not the verdict, and
a slow stretch of the machine slows both sides of a pair alike). CPU seconds
(serial: this process; cluster: the workers' own) are reported beside wall seconds, because on
a shared machine wall time says as much about the neighbours as about us.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Contender, Report, Target, cpu_seconds
from ibs.scenarios.bench.rounds import spread

if TYPE_CHECKING:
    from rich.console import Console

SPEEDUP = 1.7
OVERHEAD_MS = 50.0
EMPTY_TASKS = 200
#: Serial and cluster take turns this many times; a suite of under a second is at the mercy of
#: one neighbour's burst, and the median of a few rounds is not. On this project's shared VM
#: one round's ratio ranged 1.3-2.6x around a median of 1.8x.
ROUNDS = 9


def noop(i: int) -> int:
    return i


def warm(calls: list[tuple]) -> None:
    """Every scenario once, untimed, in this process (on a worker: that worker).

    Warm means more than imported: the first run of the suite in a process costs about 4 %
    more CPU than the next ones (caches filling), and on the cluster each worker would pay
    that once, serially only one process."""
    from ibs.scenarios.tasks import run_scenario_text

    for args in calls:
        run_scenario_text(*args)


def _calls(library: Path) -> tuple[list[tuple], list[float]]:
    """The suite's task calls, and each one's cost estimate (the order ``ibs run`` sends them)."""
    from ibs.scenarios.loader import load
    from ibs.scenarios.tasks import scenario_cost

    paths = sorted(library.glob("*.toml"))
    calls = [(p.read_text(encoding="utf-8"), str(p), "sim", None) for p in paths]
    costs = [scenario_cost(load(p).days, "sim") for p in paths]
    return calls, costs


def run_cluster_bench(library: Path, workers: int, console: Console,
                      rounds: int = ROUNDS) -> Report:
    from ibs.scenarios.tasks import run_scenario_text
    from ibs.simulator import cluster

    calls, costs = _calls(library)
    report = Report(kind="cluster", size_mib=0, method=(
        f"The {len(calls)} scenarios of {library} at sim fidelity, each a task carrying its "
        f"text (scenarios/tasks.py): serially in this process, then on a local Dask cluster of "
        f"{workers} worker processes (1 thread each) on 127.0.0.1, in batches, the dearest by "
        f"estimate first (simulator/cluster.py), as `ibs run --jobs {workers}` sends them; both "
        f"warm (each process ran every scenario once untimed), the cluster started before "
        f"timing; {rounds} rounds, serial and cluster taking turns: the speed-up is the median "
        f"of the rounds' serial/cluster ratios, and the times the medians of each side. "
        f"Overhead: {EMPTY_TASKS} empty tasks submitted one after another (submit, wait for the "
        f"result), wall time / {EMPTY_TASKS}; and the same tasks submitted at once (throughput). "
        "CPU: getrusage of this process (serial) and of each worker (cluster)."))
    load_before = os.getloadavg()
    serial_s: list[float] = []
    serial_cpu: list[float] = []
    cluster_s: list[float] = []
    worker_cpu: list[list[float]] = []
    same = True
    console.print(f"cluster: starting {workers} workers")
    t0 = time.perf_counter()
    with cluster.client(None, workers) as c:
        startup_s = time.perf_counter() - t0
        console.print(f"warming up: {len(calls)} scenarios here and on each worker")
        warm(calls)
        c.run(warm, calls)
        for r in range(1, rounds + 1):
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            serial = [run_scenario_text(*call) for call in calls]
            serial_s.append(time.perf_counter() - t0)
            serial_cpu.append(cpu_seconds() - cpu0)
            before = c.run(cpu_seconds)
            t0 = time.perf_counter()
            parallel = cluster.run_tasks(c, run_scenario_text, calls, label="bench",
                                         costs=costs)
            cluster_s.append(time.perf_counter() - t0)
            after = c.run(cpu_seconds)
            worker_cpu.append([after[w] - before.get(w, 0.0) for w in after])
            same = same and [_essence(a) for a in serial] == [_essence(b) for b in parallel]
            console.print(f"round {r}/{rounds}: serial {serial_s[-1]:.2f} s, "
                          f"cluster {cluster_s[-1]:.2f} s")
        console.print(f"overhead: {EMPTY_TASKS} empty tasks")
        t0 = time.perf_counter()
        for i in range(EMPTY_TASKS):
            c.submit(noop, i, pure=False).result()
        one_by_one_ms = (time.perf_counter() - t0) * 1000 / EMPTY_TASKS
        t0 = time.perf_counter()
        c.gather(c.map(noop, range(EMPTY_TASKS), pure=False))
        batch_ms = (time.perf_counter() - t0) * 1000 / EMPTY_TASKS
    load_after = os.getloadavg()

    serial_wall, cluster_wall = median(serial_s), median(cluster_s)
    serial_cpu_m = median(serial_cpu)
    cluster_cpu = median([sum(w) for w in worker_cpu])
    busiest = median([max(w) for w in worker_cpu])
    ratios = [a / b for a, b in zip(serial_s, cluster_s, strict=True) if b]
    speedup = median(ratios) if ratios else None
    report.contenders += [
        Contender("serial (this process)", serial_wall, 0,
                  f"{spread(serial_s)}; CPU median {serial_cpu_m:.2f} s"),
        Contender(f"Dask, {workers} workers", cluster_wall, 0,
                  f"{spread(cluster_s)}; CPU median {cluster_cpu:.2f} s across workers; "
                  f"start-up {startup_s:.2f} s apart"),
    ]
    report.targets += [
        Target(f"suite speed-up, {workers} workers vs serial", speedup, f">= {SPEEDUP:g}x",
               None if speedup is None else speedup >= SPEEDUP and same,
               f"median of {rounds} paired rounds (min {min(ratios, default=0):.2f}x, max "
               f"{max(ratios, default=0):.2f}x); serial {serial_wall:.2f} s, cluster "
               f"{cluster_wall:.2f} s (medians)"
               + ("" if same else "; RESULTS DIFFER from serial")),
        Target("scheduling overhead per empty task", one_by_one_ms, f"< {OVERHEAD_MS:g} ms",
               one_by_one_ms < OVERHEAD_MS,
               f"one by one {one_by_one_ms:.1f} ms; all at once {batch_ms:.2f} ms a task",
               unit="ms"),
    ]
    cpu_bound = serial_cpu_m / busiest if busiest else 0.0
    report.notes += [
        (f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
         f"(on {os.cpu_count()} CPUs): other work on the machine slows both sides unevenly"),
        f"results equal to serial: {'yes' if same else 'NO'} (every round)",
        (f"CPU (medians): serial {serial_cpu_m:.2f} s, workers {cluster_cpu:.2f} s in all, the "
         f"busiest {busiest:.2f} s: with the cores to ourselves the speed-up would be about "
         f"serial CPU / busiest worker's CPU = {cpu_bound:.2f}x (less the scheduler's share)"),
        (f"per-scenario cost: {serial_wall / len(calls) * 1000:.0f} ms wall, "
         f"{serial_cpu_m / len(calls) * 1000:.0f} ms CPU (serial)"),
    ]
    report.extra = {"startupSeconds": startup_s, "serialCpuSeconds": serial_cpu_m,
                    "clusterCpuSeconds": cluster_cpu, "busiestWorkerCpuSeconds": busiest,
                    "cpuBoundSpeedup": cpu_bound, "overheadMsOneByOne": one_by_one_ms,
                    "overheadMsBatch": batch_ms, "scenarios": len(calls), "workers": workers,
                    "rounds": rounds, "serialSeconds": serial_s, "clusterSeconds": cluster_s,
                    "roundSpeedups": ratios,
                    "sameResults": same, "loadAverage": [load_before[0], load_after[0]]}
    return report


def _essence(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "seconds"}
