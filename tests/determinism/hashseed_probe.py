"""Run by test_hashseed.py in a fresh interpreter: one scenario and one fuzz batch, each record
written as JSON (files as their SHA-256) for the parent to compare with another process's.

``--plant`` leaks a set of strings' iteration order (it follows PYTHONHASHSEED) into every event."""

from __future__ import annotations

import hashlib
import json
import sys

from ibs.scenarios import determinism
from ibs.scenarios.cli import LIBRARY
from ibs.scenarios.fuzz import HubMachine
from ibs.scenarios.loader import load
from ibs.simulator.events import EventLog


def main() -> None:
    if "--plant" in sys.argv:
        real_add = EventLog.add

        def ordered(self, now, event, **fields):
            real_add(self, now, event, order="".join({"alpha", "beta", "gamma", "delta"}), **fields)

        EventLog.add = ordered  # type: ignore[method-assign]
    scenario = load(str(LIBRARY / "scheduling_on_demand.toml")).with_overrides(fidelity="sim")
    out = {}
    for name, run in (("scenario", determinism.scenario_run(scenario)),
                      ("fuzz", determinism.fuzz_run(HubMachine, 7, programs=2, steps=10))):
        with determinism.pinned_entropy(0):
            events, files = run()
        out[name] = {"events": events,
                     "files": {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
