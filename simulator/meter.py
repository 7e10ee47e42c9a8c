"""What the share holds over a run: occupancy samples and the peak, judged by its own budget."""

from __future__ import annotations

from array import array
from collections.abc import Callable

from ibs.simulator.clock import TICKS_PER_SECOND


class ShareMeter:
    """Samples of modelled bytes on the share; the peak and the budget in force at the peak.

    The policy can change during a run, so a peak is judged by the budget of its moment.
    """

    def __init__(self) -> None:
        self.peak_bytes = 0
        self.peak_budget_bytes = 0
        # The samples as two columns of machine numbers, not a tuple, a float and an int each:
        # a year takes some 16,800 samples, and those three objects apiece were a third of what
        # a run keeps, each tuple one more for the garbage collector to count and walk. A
        # double holds the seconds exactly as the float did; a signed 64-bit int holds up to
        # 9.2 EB modelled (a share of 140 TB real), and a larger figure fails, never rounds.
        self._seconds = array("d", [0.0])
        self._used = array("q", [0])

    @property
    def occupancy(self) -> list[tuple[float, int]]:
        """The samples, oldest first: (virtual seconds, modelled bytes) whenever they changed."""
        return list(zip(self._seconds, self._used, strict=True))

    def sample(self, at: float, used: int, budget: Callable[[], int]) -> None:
        """``at`` is SimPy's now, in ticks (simulator/clock.py, whose now_ticks checks they are
        whole at every event logged); the samples show seconds. ``budget`` is asked only when
        the peak moves (it reads the settings)."""
        if used > self.peak_bytes:
            self.peak_bytes = used
            self.peak_budget_bytes = budget()
        if used != self._used[-1]:
            self._seconds.append(at / TICKS_PER_SECOND)
            self._used.append(used)
