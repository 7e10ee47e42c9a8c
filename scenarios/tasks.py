"""The tasks that travel to Dask workers (scenarios/cluster.py): module-level functions of plain
arguments that return plain data, so a worker needs only the installed package to run them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


def run_scenario_text(text: str, path: str, fidelity: str | None,
                      seed: int | None) -> dict[str, Any]:
    """One scenario, from its file's text; its result as a ``ScenarioResult``'s fields.

    The path is only the scenario's name in messages and replay lines: the worker never opens
    it, so it may live on another machine."""
    from ibs.scenarios.loader import loads
    from ibs.scenarios.runner import run_scenario

    scenario = loads(text, path).with_overrides(fidelity=fidelity, seed=seed)
    return asdict(run_scenario(scenario))


MACHINES = {"sim": "ibs.scenarios.fuzz:HubMachine", "wire": "ibs.scenarios.fuzz:WireHubMachine"}


def fuzz_batch(seed: int, fidelity: str, steps: int, programs: int, db: str | None,
               machine: str | None = None) -> dict[str, Any]:
    """One batch of ``programs`` fuzz programs, generated from ``seed``: what it found, as plain
    data. An invariant that breaks is a result (its minimal program and replay line), not an
    exception, so one bad seed does not stop a campaign.

    ``db`` is hypothesis' example database on the worker's disk (None: in memory); ``machine``
    (``module:Class``) defaults to the fidelity's state machine."""
    import importlib

    import hypothesis.core
    from hypothesis import HealthCheck, settings
    from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase
    from hypothesis.reporting import with_reporter
    from hypothesis.stateful import run_state_machine_as_test

    from ibs.scenarios.fuzz_reach import REACH

    module, name = (machine or MACHINES[fidelity]).split(":")
    cls = getattr(importlib.import_module(module), name)
    config = settings(max_examples=programs, stateful_step_count=steps, deadline=None,
                      database=DirectoryBasedExampleDatabase(db) if db
                      else InMemoryExampleDatabase(),
                      suppress_health_check=list(HealthCheck))
    printed: list[str] = []
    found = None
    reached = dict(REACH.counts)
    # hypothesis has no public per-call seed for run_state_machine_as_test; its pytest plugin
    # sets this same module variable for --hypothesis-seed.
    hypothesis.core.global_force_seed = seed  # type: ignore[assignment]  # hypothesis declares it None-only
    try:
        with with_reporter(lambda text: printed.append(str(text))):
            run_state_machine_as_test(cls, settings=config)
    except Exception as exc:  # noqa: BLE001  (every broken invariant is reported, whatever it is)
        found = f"{type(exc).__name__}: {exc}".strip()
        # hypothesis attaches the minimal program to the exception (older versions print it).
        printed += [str(n) for n in getattr(exc, "__notes__", ())]
    finally:
        hypothesis.core.global_force_seed = None
    replay = (f"ibs fuzz --seed {seed} --batches 1 --fidelity {fidelity} --steps {steps}"
              + (f" --db {db}" if db else ""))
    reach = {row: n - reached.get(row, 0) for row, n in REACH.counts.items() if n > reached.get(row, 0)}
    return {"seed": seed, "programs": programs, "failure": found, "reach": reach,
            "program": "\n".join(printed) if found else None,
            "replay": replay if found else None}
