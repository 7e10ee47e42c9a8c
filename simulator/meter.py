"""What the share holds over a run: occupancy samples and the peak, judged by its own budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ibs.simulator.clock import TICKS_PER_SECOND


@dataclass
class ShareMeter:
    """Samples of modelled bytes on the share; the peak and the budget in force at the peak.

    The policy can change during a run, so a peak is judged by the budget of its moment.
    """

    peak_bytes: int = 0
    peak_budget_bytes: int = 0
    occupancy: list[tuple[float, int]] = field(default_factory=lambda: [(0.0, 0)])

    def sample(self, at: float, used: int, budget: Callable[[], int]) -> None:
        """``at`` is SimPy's now, in ticks (simulator/clock.py, whose now_ticks checks they are
        whole at every event logged); the samples show seconds. ``budget`` is asked only when
        the peak moves (it reads the settings)."""
        if used > self.peak_bytes:
            self.peak_bytes = used
            self.peak_budget_bytes = budget()
        if used != self.occupancy[-1][1]:
            self.occupancy.append((at / TICKS_PER_SECOND, used))
