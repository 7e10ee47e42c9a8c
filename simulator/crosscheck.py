"""Sizing against simulation: plan a share with the sizing model, then live through the plan.

The sizing model (simulator/sizing.py) says how much a share must hold and when it runs out;
the simulated hub runs the real engine against a share of that capacity for the whole
horizon. They agree when they name the same run-out day (within one day) and, when the share
holds, the same peak: the simulation's at most the plan's, and short of it by at most
``SLACK_PER_BACKUP`` for each backup kept (a simulated backup is its modelled size rounded down
to whole real bytes, less a margin for the engine's space estimate; simulator/hub.py). ``ibs sizing --check``
prints both answers and fails when they disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ibs.simulator import scale
from ibs.simulator.clock import DAY
from ibs.simulator.config import HubConfig
from ibs.simulator.hub import Hub
from ibs.simulator.network import Link
from ibs.simulator.profiles import HubProfile
from ibs.simulator.role_plan import ESTIMATE_SLACK
from ibs.simulator.sizing import SizingInputs, SizingReport, horizon_days, plan

#: How far below its modelled size a simulated backup may stay: the margin the hub leaves for
#: the engine's space estimate, and what the scale's rounding drops (under one real byte;
#: simulator/shape.py sizes the rest to the byte).
SLACK_PER_BACKUP = scale.to_modelled(ESTIMATE_SLACK + 1)


@dataclass(frozen=True)
class Answer:
    """What one side says about the share: its peak, the day it runs out, backups kept."""

    peak_bytes: int
    runs_out_on: dt.date | None
    backups_kept: int

    def to_dict(self) -> dict[str, Any]:
        return {"peakBytes": self.peak_bytes, "backupsKept": self.backups_kept,
                "runsOutOn": self.runs_out_on.isoformat() if self.runs_out_on else None}


@dataclass(frozen=True)
class CrossCheck:
    capacity_bytes: int
    days: int
    sizing: Answer
    simulation: Answer
    disagreements: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.disagreements

    def to_dict(self) -> dict[str, Any]:
        return {"shareCapacityBytes": self.capacity_bytes, "days": self.days,
                "sizing": self.sizing.to_dict(), "simulation": self.simulation.to_dict(),
                "agree": self.agree, "disagreements": list(self.disagreements)}


def profile_for(inputs: SizingInputs) -> HubProfile:
    """The simulated hub a sizing environment stands for."""
    if inputs.env is None:
        return HubProfile(nodes=4, size_bytes=inputs.per_backup_bytes, growth=inputs.growth)
    nodes = 1 if inputs.env == "asdk" else 4
    identity = "AzureAD" if inputs.env == "4-16-aad" else "ADFS"
    return HubProfile(nodes=nodes, identity=identity, growth=inputs.growth)


def cross_check(inputs: SizingInputs, seed: int = 1,
                on_day: Callable[[int, int], None] = lambda done, total: None) -> CrossCheck:
    """Run the plan's policy on a simulated hub whose share has the planned capacity (or,
    without one, exactly the peak the sizing model calls required)."""
    report = plan(inputs)
    days = horizon_days(inputs.years, inputs.days)
    used = inputs.share_used_bytes
    capacity = inputs.share_capacity_bytes or report.peak_bytes + used
    if inputs.share_capacity_bytes is None:  # the plan for exactly that share
        report = plan(_with_capacity(inputs, capacity))
    start = dt.datetime.combine(inputs.start, dt.time(), tzinfo=dt.UTC)
    config = HubConfig(profile_for(inputs), seed=seed, frequency_hours=inputs.frequency_hours,
                       retention_days=inputs.retention_days, share_capacity_bytes=capacity,
                       share_used_bytes=used, start=start,
                       link=Link(bytes_per_second=inputs.link_mb_per_second * 10**6))
    with Hub(config) as hub:
        step = 30
        for done in range(step, days + step, step):
            hub.run(min(done, days))
            on_day(min(done, days), days)
        full = [e for e in hub.log.of("backup finished") if e.get("category") == "ShareCapacity"]
        runs_out = (inputs.start + dt.timedelta(days=round(full[0]["t"] * 10**6) // DAY)
                    if full else None)
        kept = sum(1 for r in hub.ctl.backups() if r.status == "Succeeded")
        simulated = Answer(hub.peak_bytes, runs_out, kept)
    planned = Answer(report.peak_bytes, report.runs_out_on, report.backups_kept)
    return CrossCheck(capacity, days, planned, simulated, _disagreements(report, planned,
                                                                          simulated))


def _with_capacity(inputs: SizingInputs, capacity: int) -> SizingInputs:
    from dataclasses import replace

    return replace(inputs, share_capacity_gb=capacity / 10**9)


def _disagreements(report: SizingReport, planned: Answer, simulated: Answer) -> list[str]:
    found = []
    a, b = planned.runs_out_on, simulated.runs_out_on
    if (a is None) != (b is None) or (a and b and abs((a - b).days) > 1):
        found.append(f"run-out day: sizing {a or 'never'}, simulation {b or 'never'}")
    if a is None and b is None:
        short = planned.peak_bytes - simulated.peak_bytes
        if not 0 <= short <= SLACK_PER_BACKUP * planned.backups_kept:
            found.append(f"peak: sizing {planned.peak_bytes:,} bytes, simulation "
                         f"{simulated.peak_bytes:,} bytes")
    return found
