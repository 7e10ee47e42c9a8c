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


def scenario_cost(days: float, fidelity: str) -> float:
    """A scenario's cost, only to order and batch a suite's tasks (``cluster.run_tasks``'s
    ``costs``): a wrong estimate costs balance across workers, never a result.

    A sim-fidelity scenario's CPU time grows with the simulated days (the built-in suite, warm:
    about 10 ms plus 5 ms a day); the hub's size barely counts at the modelled scale. At wire
    fidelity every backup crosses a real SMB connection: 16-38 times the sim cost for the
    built-in scenarios measured, more where a fault waits out a real timeout."""
    return (days + 2.0) * (30.0 if fidelity == "wire" else 1.0)


MACHINES = {"sim": "ibs.scenarios.fuzz:HubMachine", "wire": "ibs.scenarios.fuzz:WireHubMachine"}


def fuzz_batch(seed: int, fidelity: str, steps: int, programs: int, db: str | None,
               machine: str | None = None) -> dict[str, Any]:
    """One batch of ``programs`` fuzz programs, generated from ``seed``: what it found, as plain
    data. An invariant that breaks is a result (its minimal program and replay line), not an
    exception, so one bad seed does not stop a campaign.

    ``db`` is hypothesis' example database on the worker's disk (None: in memory); ``machine``
    (``module:Class``) defaults to the fidelity's state machine."""
    import importlib

    from hypothesis import HealthCheck, settings
    from hypothesis import seed as seed_of
    from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase
    from hypothesis.reporting import with_reporter
    from hypothesis.stateful import run_state_machine_as_test

    from ibs.scenarios.fuzz_constants import seed_only
    from ibs.scenarios.fuzz_reach import REACH

    module, name = (machine or MACHINES[fidelity]).split(":")
    base = getattr(importlib.import_module(module), name)
    # The seed rides on a per-call factory, not on hypothesis.core.global_force_seed: that one is
    # process-wide (two batches on one worker's threads would race for it) and is ignored under
    # derandomize, which hypothesis' "ci" profile turns on wherever a CI variable is set; then
    # every batch ran the same programs. derandomize=False says the same thing for our settings.
    # A function, not a subclass: hypothesis digests the factory's source and signature for its
    # database key, and a class's source is found by parsing its whole module, a fiftieth of a
    # second a batch. The default argument keeps each machine's failures under its own key.
    def seeded(machine: str = f"{module}:{name}"):
        return base()

    seed_of(seed)(seeded)
    config = settings(max_examples=programs, stateful_step_count=steps, deadline=None,
                      derandomize=False,
                      database=DirectoryBasedExampleDatabase(db) if db
                      else InMemoryExampleDatabase(),
                      suppress_health_check=list(HealthCheck))
    printed: list[str] = []
    found = None
    reached = dict(REACH.counts)
    try:
        with with_reporter(lambda text: printed.append(str(text))), seed_only():
            # Typed as a class; documented as "a class or a function" returning a machine.
            run_state_machine_as_test(seeded, settings=config)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001  (every broken invariant is reported, whatever it is)
        found = f"{type(exc).__name__}: {exc}".strip()
        # hypothesis attaches the minimal program to the exception (older versions print it).
        printed += [str(n) for n in getattr(exc, "__notes__", ())]
    replay = (f"ibs fuzz --seed {seed} --batches 1 --fidelity {fidelity} --steps {steps}"
              + (f" --db {db}" if db else ""))
    reach = {row: n - reached.get(row, 0) for row, n in REACH.counts.items() if n > reached.get(row, 0)}
    return {"seed": seed, "programs": programs, "failure": found, "reach": reach,
            "program": "\n".join(printed) if found else None,
            "replay": replay if found else None}
