"""``ibs sizing --sweep``: a grid of sizing plans, each lived through by a simulated hub.

The grid is the product of five axes: hub kind (a sizing environment), backup frequency,
retention, yearly growth and share size (none: exactly the peak the plan calls required). A
point is plain data; :func:`check_point` plans it and cross-checks it (simulator/crosscheck.py)
and returns one row of plain data, so points run anywhere (simulator/cluster.py) and the rows,
in grid order, are the same whatever ran them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import asdict, dataclass
from typing import Any

from ibs.engine.errors import BadInput


@dataclass(frozen=True)
class Point:
    env: str
    frequency_hours: int
    retention_days: int
    growth_pct_per_year: float
    share_gb: float | None  # None: a share of exactly the planned peak


@dataclass(frozen=True)
class Grid:
    envs: tuple[str, ...]
    frequencies: tuple[int, ...]
    retentions: tuple[int, ...]
    growths: tuple[float, ...]
    shares: tuple[float | None, ...]

    def points(self) -> list[Point]:
        return [Point(*axes) for axes in itertools.product(
            self.envs, self.frequencies, self.retentions, self.growths, self.shares)]


def parse_axis(name: str, text: str, kind: type) -> tuple:
    """``4,8,12`` -> (4, 8, 12); ``peak`` stands for the planned peak on the share axis."""
    values: list[object] = []
    for raw in text.split(","):
        raw = raw.strip()
        if name == "--share-gbs" and raw == "peak":
            values.append(None)
            continue
        try:
            values.append(kind(raw))
        except ValueError:
            raise BadInput(f"{name} {text}: {raw!r} is not a {kind.__name__} "
                           f"(give a comma-separated list, e.g. {name} 4,12)") from None
    if not values or len(set(values)) != len(values):
        raise BadInput(f"{name} {text}: give distinct values, separated by commas")
    return tuple(values)


def inputs_of(point: Point, common: dict[str, Any]):
    from ibs.simulator.sizing import SizingInputs

    return SizingInputs(env=point.env, frequency_hours=point.frequency_hours,
                        retention_days=point.retention_days,
                        growth_pct_per_year=point.growth_pct_per_year,
                        share_capacity_gb=point.share_gb, **common)


def check_point(point: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """One grid point, planned and simulated: a row of plain data.

    ``common`` holds the inputs every point shares (start as an ISO date, horizon, share
    already used, link speed); both arguments are plain data so the call can travel."""
    from ibs.simulator.crosscheck import cross_check

    p = Point(**point)
    common = {**common, "start": dt.date.fromisoformat(common["start"])}
    inputs = inputs_of(p, common)
    result = cross_check(inputs)
    s, m = result.sizing, result.simulation
    return {
        **{_camel(k): v for k, v in asdict(p).items()},
        "shareCapacityBytes": result.capacity_bytes, "days": result.days,
        "sizingPeakBytes": s.peak_bytes, "simulatedPeakBytes": m.peak_bytes,
        "sizingBackupsKept": s.backups_kept, "simulatedBackupsKept": m.backups_kept,
        "sizingRunsOutOn": s.runs_out_on.isoformat() if s.runs_out_on else None,
        "simulatedRunsOutOn": m.runs_out_on.isoformat() if m.runs_out_on else None,
        "agree": result.agree, "disagreements": list(result.disagreements),
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)
