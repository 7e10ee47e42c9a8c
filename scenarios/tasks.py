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
