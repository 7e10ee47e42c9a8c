"""The engine's clock inside a simulation: SimPy's ``env.now`` seconds after a fixed start."""

from __future__ import annotations

import datetime as dt

import simpy

SIM_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class SimClock:
    def __init__(self, env: simpy.Environment, start: dt.datetime = SIM_EPOCH) -> None:
        self.env = env
        self.start = start

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.env.now)

    def sleep(self, seconds: float) -> None:
        # Only the real-time daemon sleeps; in a simulation, waiting is a SimPy timeout.
        raise RuntimeError("the simulated controller waits with env.timeout, never sleep()")
