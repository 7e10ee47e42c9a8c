"""``ibs bench fuzz``: stateful fuzzing programs per second at sim fidelity (issue 15: at least 20).

Runs what ``ibs fuzz`` runs, batches of ``fuzz_cli.BATCH`` programs of ``--steps`` rules from
fixed seeds (the same programs on every run, so two reports compare), and reports programs per
second of wall time and of this process's CPU time: on a shared machine wall time says as much
about the neighbours as about us. The target is on wall time, as a user sees it.
"""

from __future__ import annotations

import resource
import time
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Report, Target

if TYPE_CHECKING:
    from rich.console import Console

TARGET = 20.0  # programs per second


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_fuzz_bench(batches: int, steps: int, console: Console) -> Report:
    from ibs.scenarios.fuzz_cli import BATCH
    from ibs.scenarios.tasks import fuzz_batch

    fuzz_batch(10**6, "sim", steps, 1, None)  # warm: imports, the first hub's caches
    programs = 0
    failures = 0
    wall, cpu = time.perf_counter(), _cpu()
    for seed in range(batches):
        found = fuzz_batch(seed, "sim", steps, BATCH, None)
        programs += found["programs"]
        failures += found["failure"] is not None
        console.print(f"  seed {seed}: {programs} programs")
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    rate, cpu_rate = programs / wall, programs / max(cpu, 1e-9)
    report = Report("fuzz", 0, f"`fuzz_batch(seed, 'sim', {steps}, {BATCH}, None)` for seeds "
                    f"0..{batches - 1} (scenarios/tasks.py, what `ibs fuzz` runs), after one "
                    "warm-up program")
    report.targets.append(Target(
        "stateful programs per second (sim)", rate, f">= {TARGET:g}", rate >= TARGET,
        f"{programs} programs of {steps} steps in {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({cpu_rate:.1f} programs per CPU second); {failures} batches broke an invariant",
        unit="/s"))
    report.extra.update({"programs": programs, "steps": steps, "wall_s": wall, "cpu_s": cpu,
                         "programs_per_s": rate, "programs_per_cpu_s": cpu_rate,
                         "failed_batches": failures})
    return report
