"""Virtual time: SimPy's ``env.now`` in whole microseconds after a fixed start.

Time is an integer so that instants add up exactly: a float clock drifted by a microsecond
after a few simulated years, a backup was stamped ``12:00:00.000001``, and the one exactly
retention-days old survived the delete-before-write. A microsecond is datetime's resolution,
so every instant converts to a timestamp and back without loss.
"""

from __future__ import annotations

import datetime as dt

import simpy

SIM_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TICKS_PER_SECOND = 1_000_000
SECOND = TICKS_PER_SECOND
HOUR = 3600 * SECOND
DAY = 24 * HOUR
_TICK = dt.timedelta(microseconds=1)


def ticks(seconds: float) -> int:
    """Seconds (as people and scenario files write them) to whole ticks, to the nearest."""
    return round(seconds * TICKS_PER_SECOND)


def seconds(at: int) -> float:
    """Ticks to seconds, for display and for reports."""
    return at / TICKS_PER_SECOND


def now_ticks(env: simpy.Environment) -> int:
    """SimPy's ``env.now``, which its stubs allow to be a float, as the whole ticks it must be."""
    at = env.now
    if not isinstance(at, int):
        raise TypeError(f"simulated time {at!r} is not whole ticks: a process waited a float "
                        "delay; convert it with simulator.clock.ticks()")
    return at


def ticks_of(delta: dt.timedelta) -> int:
    return delta // _TICK


class SimClock:
    """The engine's clock inside a simulation (engine/clock.py's protocol)."""

    def __init__(self, env: simpy.Environment, start: dt.datetime = SIM_EPOCH) -> None:
        self.env = env
        self.start = start
        # The last instant asked for and its time: the engine asks again and again within one
        # step (a backup asks some eight times, at four or five instants).
        self._asked: int | None = None
        self._time = start

    def now(self) -> dt.datetime:
        at = now_ticks(self.env)
        if at != self._asked:
            self._asked, self._time = at, self.at(at)
        return self._time

    def at(self, when: int) -> dt.datetime:
        return self.start + dt.timedelta(microseconds=when)

    def ticks_until(self, when: dt.datetime) -> int:
        return ticks_of(when - self.start) - now_ticks(self.env)

    def sleep(self, seconds: float) -> None:
        # Only the real-time daemon sleeps; in a simulation, waiting is a SimPy timeout.
        raise RuntimeError("the simulated controller waits with env.timeout, never sleep()")
