"""``ibs bench fuzz``: stateful fuzzing programs per second at sim fidelity (issue 15: at least 20).

Runs what ``ibs fuzz`` runs, batches of ``fuzz_cli.BATCH`` programs of ``--steps`` rules from
fixed seeds (the same programs on every run, so two reports compare), twice: in this process, one
batch after another (one core), then as ``ibs fuzz --batches N --jobs W`` runs a campaign, on a
local Dask cluster of W workers (this machine's cores), started and warmed before the clock
runs. Both report programs per second of wall time and of CPU time: on a shared machine wall
time says as much about the neighbours as about us. The target is the machine's wall-time rate,
as a campaign sees it; the one-core rate is reported beside it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Report, Target, cpu_seconds

if TYPE_CHECKING:
    from rich.console import Console

TARGET = 20.0  # programs per second


def run_fuzz_bench(batches: int, steps: int, console: Console, workers: int = 2) -> Report:
    from ibs.scenarios.fuzz_cli import BATCH
    from ibs.scenarios.tasks import fuzz_batch

    fuzz_batch(10**6, "sim", steps, 1, None)  # warm: imports, the first hub's caches
    calls = [(seed, "sim", steps, BATCH, None) for seed in range(batches)]
    serial: list[dict] = []
    wall, cpu = time.perf_counter(), cpu_seconds()
    for call in calls:
        serial.append(fuzz_batch(*call))
        console.print(f"  one process, seed {call[0]}: {sum(r['programs'] for r in serial)} "
                      "programs")
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    programs = sum(r["programs"] for r in serial)
    failures = sum(r["failure"] is not None for r in serial)
    rate, cpu_rate = programs / wall, programs / max(cpu, 1e-9)
    report = Report("fuzz", 0, f"`fuzz_batch(seed, 'sim', {steps}, {BATCH}, None)` for seeds "
                    f"0..{batches - 1} (scenarios/tasks.py, what `ibs fuzz` runs), after one "
                    "warm-up program: in this process, then "
                    + (f"on a local Dask cluster of {workers} workers as `ibs fuzz --batches "
                       f"{batches} --jobs {workers}` runs them (started and warmed before timing)"
                       if workers else "(no cluster run: --workers 0)"))
    one_core = (f"one process: {programs} programs of {steps} steps in {wall:.1f} s wall, "
                f"{cpu:.1f} s CPU ({rate:.1f} a second, {cpu_rate:.1f} per CPU second)")
    report.extra.update({"programs": programs, "steps": steps, "wall_s": wall, "cpu_s": cpu,
                         "programs_per_s": rate, "programs_per_cpu_s": cpu_rate,
                         "failed_batches": failures, "workers": workers})
    if not workers:
        report.targets.append(Target(
            "stateful programs per second (sim), one process", rate, f">= {TARGET:g}",
            rate >= TARGET, f"{one_core}; {failures} batches broke an invariant", unit="/s"))
        return report
    machine, machine_cpu, same = _on_cluster(calls, workers, serial, console)
    machine_rate = programs / machine
    report.targets.append(Target(
        f"stateful programs per second (sim), {workers} workers", machine_rate,
        f">= {TARGET:g}", machine_rate >= TARGET and same,
        f"{programs} programs in {machine:.1f} s wall, workers' CPU {machine_cpu:.1f} s; "
        f"{one_core}; {failures} batches broke an invariant"
        + ("" if same else "; RESULTS DIFFER from the one-process run"), unit="/s"))
    report.notes.append(f"the cluster's results equal the one-process run's: "
                        f"{'yes' if same else 'NO'}")
    report.extra.update({"cluster_wall_s": machine, "cluster_cpu_s": machine_cpu,
                         "cluster_programs_per_s": machine_rate, "same_results": same})
    return report


def _on_cluster(calls: list[tuple], workers: int, serial: list[dict],
                console: Console) -> tuple[float, float, bool]:
    """The same batches on a local cluster: wall seconds, the workers' CPU seconds, and whether
    every batch found what it found in this process."""
    from ibs.scenarios.tasks import fuzz_batch
    from ibs.simulator import cluster

    console.print(f"  cluster: starting {workers} workers")
    with cluster.client(None, workers) as c:
        c.run(fuzz_batch, 10**6, "sim", calls[0][2], 1, None)  # each worker warm, as above
        before = c.run(cpu_seconds)
        wall = time.perf_counter()
        results = cluster.run_tasks(c, fuzz_batch, calls, label="fuzz")
        wall = time.perf_counter() - wall
        after = c.run(cpu_seconds)
    console.print(f"  cluster: {sum(r['programs'] for r in results)} programs")
    return wall, sum(after[w] - before.get(w, 0.0) for w in after), results == serial
