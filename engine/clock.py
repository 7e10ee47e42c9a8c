"""Time, injected: the engine never reads the wall clock or sleeps on its own.

``SystemClock`` is real time (the daemon, the CLI); ``ManualClock`` is for tests; the
simulator supplies a clock that reads SimPy's ``env.now``.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (used only by the daemon's loop; a job never waits)."""
        ...


class SystemClock:
    def __init__(self) -> None:
        self._wake = threading.Event()

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))

    def interrupt(self) -> None:
        """End the current and every later ``sleep`` at once (for shutting the daemon down)."""
        self._wake.set()


class ManualClock:
    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration as the REST model writes timeTakenToCreate: ``PT1H2M3.5S``."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    if secs or out == "PT":
        out += f"{secs:.3f}".rstrip("0").rstrip(".") + "S"
    return out
