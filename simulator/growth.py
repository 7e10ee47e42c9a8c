"""How a hub's backups grow: the one definition the simulator and the sizing model share.

A backup written on whole day ``day`` (0 = the day backup was enabled) is
``base x (1 + pct_per_year/100) ** (day / 365) + gb_per_day x day``: compound growth per year,
linear growth per day, or both. Growth is applied per whole day, so every backup of a day has
the same size, in the simulation as in the sizing report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ibs.engine.errors import BadInput

GB = 10**9
DAYS_PER_YEAR = 365
PCT_PER_YEAR = (0, 1000)
GB_PER_DAY = (0, 1000)


@dataclass(frozen=True, kw_only=True)
class Growth:
    pct_per_year: float = 0
    gb_per_day: float = 0

    def __post_init__(self) -> None:
        for value, (lo, hi), unit in ((self.pct_per_year, PCT_PER_YEAR, "% per year"),
                                      (self.gb_per_day, GB_PER_DAY, "GB per day")):
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or not lo <= value <= hi):
                raise BadInput(f"growth must be a number from {lo} to {hi} {unit}, got {value!r}")

    def __bool__(self) -> bool:
        return bool(self.pct_per_year or self.gb_per_day)

    def size_on_day(self, base: int, day: int) -> int:
        """Modelled bytes of a backup written on ``day``, whole bytes."""
        if day <= 0 or not self:
            return base
        compound = base * (1 + self.pct_per_year / 100) ** (day / DAYS_PER_YEAR)
        return round(compound + self.gb_per_day * GB * day)

    def describe(self) -> str:
        parts = []
        if self.pct_per_year:
            parts.append(f"{self.pct_per_year:g} % per year")
        if self.gb_per_day:
            parts.append(f"{self.gb_per_day:g} GB per day")
        return " + ".join(parts) or "none"

    def to_dict(self) -> dict[str, float]:
        return {"pctPerYear": self.pct_per_year, "gbPerDay": self.gb_per_day}


NONE = Growth()


def as_growth(value: Growth | float | None) -> Growth:
    """A Growth, or a bare number read as % per year (the sizing model's historic argument)."""
    if isinstance(value, Growth):
        return value
    return Growth(pct_per_year=value or 0)
