"""A simulated run is one thread: the engine's pipelines run inline in virtual time, backups and
cloud-recovery restores alike (a restore that started its reading and hashing threads cost a
sim-fidelity scenario a third of its wall time in hand-offs, and put thread timing into a world
that must replay bit for bit)."""

from __future__ import annotations

import threading

from ibs.scenarios.cli import LIBRARY
from ibs.scenarios.loader import load
from ibs.scenarios.runner import run_scenario


def test_a_scenario_with_backups_and_restores_starts_no_thread(monkeypatch):
    started: list[str] = []
    start = threading.Thread.start

    def counting(self: threading.Thread) -> None:
        started.append(self.name)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", counting)
    result = run_scenario(load(str(LIBRARY / "recovery_full_and_role.toml")))
    assert result.passed, result.error
    assert result.recoveries, "the scenario must restore something"
    assert started == []
