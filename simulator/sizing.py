"""Share sizing for Infrastructure Backup: how much the external share must hold, and until when.

Pure and deterministic: no I/O, no wall clock (the start date is a parameter). All sizes are in
modelled units, 1 GB = 10^9 bytes (DESIGN.md, Scale model). One module over 400 lines on purpose:
it is one model, and its rules (what is kept, when it is deleted, the peak) read against each
other; the command is simulator/sizing_cli.py, the renderer reports/sizing/.

The model follows the engine (engine/controller.py, ``Job._write`` and ``_plan_prune``):

- backup is enabled at hour 0 of day 0 on an empty share; the scheduler writes a full backup
  every ``frequency_hours``, the first one period later (hours f, 2f, 3f... none at hour 0);
- before each write at hour t, the backups written at or before t - 24 × retention are deleted
  (a backup exactly as old as the retention period has served it; the newest always stays);
- the write is taken as instantaneous: its peak is what remains plus the new backup, so a regular
  schedule never holds more than ``ceil(24 × retention / frequency)`` backups (24/f × d when f
  divides 24 × d, as REFERENCE.md says): without growth the peak *is* the required budget;
- an on-demand backup between two scheduled ones adds one backup until it expires; that is
  reported beside the peak (``on_demand_peak_bytes``), never folded into it;
- with growth, the size of each new backup is ``base × (1 + pct/100) ** (day / 365) + gb × day``,
  where ``day`` is the whole day on which it is written (simulator/growth.py: the simulator uses
  the same function, so both agree backup by backup);
- space already used on the share by other data counts against its capacity;
- the engine starts a backup only if the share has room for it: the estimate scales the last
  backup (framing included), so a share exactly as large as the peak holds the schedule. The
  first backup is estimated from its sources plus a 64 KiB margin (engine/job.py), which only
  matters on a share smaller than one backup.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ibs.engine.errors import BadInput
from ibs.engine.settings import (
    DEFAULT_FREQUENCY_HOURS,
    DEFAULT_RETENTION_DAYS,
    FREQUENCY_HOURS,
    RETENTION_DAYS,
    check_frequency,
    check_range,
    check_retention,
)
from ibs.engine.units import GB, TB, format_bytes  # noqa: F401 (format_bytes: re-exported)
from ibs.simulator.config import check_share_used
from ibs.simulator.growth import PCT_PER_YEAR, Growth, as_growth
from ibs.simulator.network import DEFAULT_LINK_MB_PER_SECOND

DAYS_PER_YEAR = 365

#: Modelled size of one backup per environment (REFERENCE.md, Sizing), in GB.
ENV_BACKUP_GB: dict[str, int] = {"asdk": 10, "4-16": 20, "4-16-aad": 1}
ENV_LABELS: dict[str, str] = {
    "asdk": "ASDK",
    "4-16": "4-16 nodes, ADFS-connected or before build 1907",
    "4-16-aad": "4-16 nodes, Azure AD-connected, build 1907 and later",
}
#: The "total" column of REFERENCE.md's sizing table (for 12 h and 7 days), in GB. For 4-16-aad
#: it is 20 GB although the formula gives 14 GB (1 GB x 14): reported beside, never substituted.
ENV_DOCUMENTED_TOTAL_GB: dict[str, int] = {"asdk": 140, "4-16": 280, "4-16-aad": 20}
DEFAULT_ENV = "4-16"

FREQUENCIES: tuple[int, ...] = tuple(range(FREQUENCY_HOURS[0], FREQUENCY_HOURS[1] + 1))
RETENTIONS: tuple[int, ...] = tuple(range(RETENTION_DAYS[0], RETENTION_DAYS[1] + 1))
GROWTH_PCT_PER_YEAR = PCT_PER_YEAR
YEARS = (1, 10)


# --- validation --------------------------------------------------------------------------------

def check_env(env: str) -> str:
    if env not in ENV_BACKUP_GB:
        raise BadInput(f"environment must be one of {', '.join(ENV_BACKUP_GB)}, got {env!r}")
    return env


def _positive_number(name: str, value: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(f"{name} must be a number of {unit} greater than 0, got {value!r}")
    if value <= 0:
        raise BadInput(f"{name} must be greater than 0 {unit}, got {value:g}")
    return value


def check_backup_size_gb(value: float) -> float:
    return _positive_number("backup size", value, "GB")


def check_share_capacity_gb(value: float) -> float:
    return _positive_number("share capacity", value, "GB")


def check_growth(value: float) -> float:
    """Growth in % per year, as simulator/growth.py bounds it."""
    Growth(pct_per_year=value)
    return value


def check_years(value: int) -> int:
    return check_range("planning horizon", value, YEARS, "years")


def gb_to_bytes(gb: float) -> int:
    """Modelled GB (10^9 bytes) to whole bytes; 2.5 -> 2_500_000_000."""
    return round(gb * GB)


# --- the figures -------------------------------------------------------------------------------

def per_backup_bytes(env: str = DEFAULT_ENV) -> int:
    """Modelled size of one backup in an environment (asdk 10 GB, 4-16 20 GB, 4-16-aad 1 GB)."""
    return ENV_BACKUP_GB[check_env(env)] * GB


def backups_kept(frequency_hours: int, retention_days: int) -> int:
    """Most backups on the share on a regular schedule: ceil(24 / frequency × retention days)."""
    return -(-24 * retention_days // frequency_hours)


def required_bytes(per_backup: int, frequency_hours: int, retention_days: int) -> int:
    """Size of one backup × backups kept (280 GB for 20 GB at 12 h and 7 days)."""
    return per_backup * backups_kept(frequency_hours, retention_days)


def backup_size_on_day(per_backup: int, growth: Growth | float, day: int) -> int:
    """Size of a backup written on ``day`` (0 = start); growth as in simulator/growth.py."""
    return as_growth(growth).size_on_day(per_backup, day)


def horizon_days(years: int, days: int | None = None) -> int:
    """The plan's length in days: ``days`` when given, else whole years of 365 days."""
    return days if days is not None else years * DAYS_PER_YEAR


def write_hours(frequency_hours: int, years: int, days: int | None = None) -> range:
    """The hours at which scheduled backups are written within the horizon: f, 2f, 3f...

    Backup is enabled at hour 0 and the first backup comes one period later.
    """
    return range(frequency_hours, horizon_days(years, days) * 24, frequency_hours)


def peak_bytes(per_backup: int, frequency_hours: int, retention_days: int,
               growth_pct_per_year: Growth | float = 0, years: int = 1,
               days: int | None = None) -> int:
    """The most the share holds within the horizon on the schedule alone.

    Expired backups go before each write, so right after a write at hour t the share holds the
    backups written after t - 24 × retention: at most :func:`backups_kept` of them. Without
    growth this is :func:`required_bytes`. Sizes never shrink, so the last write of the horizon
    is the highest point; this is the same number as the largest ``peak_bytes`` of
    :func:`occupancy_series`.
    """
    last = write_hours(frequency_hours, years, days)[-1]
    kept = range(last, max(last - 24 * retention_days, 0), -frequency_hours)
    return sum(backup_size_on_day(per_backup, growth_pct_per_year, t // 24) for t in kept)


def on_demand_peak_bytes(per_backup: int, frequency_hours: int, retention_days: int,
                         growth_pct_per_year: Growth | float = 0, years: int = 1,
                         days: int | None = None) -> int:
    """Advisory: :func:`peak_bytes` plus one backup of the largest size in the horizon.

    An on-demand backup taken between two scheduled ones stays until it expires, so for a
    retention period the share holds one backup more than the schedule alone.
    """
    last_day = write_hours(frequency_hours, years, days)[-1] // 24  # sizes never shrink
    largest = backup_size_on_day(per_backup, growth_pct_per_year, last_day)
    return peak_bytes(per_backup, frequency_hours, retention_days, growth_pct_per_year,
                      years, days) + largest


@dataclass(frozen=True)
class OccupancyDay:
    """One day of the share: ``bytes`` on it at the end of the day, ``peak_bytes`` the day's
    highest point (at the start of the day or just after one of its writes), ``backups`` the
    count at the end of the day."""

    day: int
    date: dt.date
    bytes: int
    peak_bytes: int
    backups: int

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "date": self.date.isoformat(), "bytes": self.bytes,
                "peakBytes": self.peak_bytes, "backups": self.backups}


def occupancy_series(per_backup: int, frequency_hours: int, retention_days: int,
                     growth_pct_per_year: Growth | float = 0, years: int = 1,
                     start: dt.date = dt.date(2000, 1, 1),
                     horizon: int | None = None) -> list[OccupancyDay]:
    """Bytes on the share, day by day, from an empty share when backup is enabled (hour 0, day 0).

    One entry per day for ``years`` × 365 days. A backup is written every ``frequency_hours``
    (hours f, 2f...); before each write, backups written at or before t - 24 × retention are
    deleted, then the new backup is added. Scheduled backups only (no on-demand ones).
    """
    cutoff_age = 24 * retention_days
    on_share: deque[tuple[int, int]] = deque()  # (hour written, size)
    total = 0
    days: list[OccupancyDay] = []
    day_peak = 0
    current_day = 0

    def close(day: int) -> None:
        days.append(OccupancyDay(day, start + dt.timedelta(days=day), total, day_peak,
                                 len(on_share)))

    for t in write_hours(frequency_hours, years, horizon):
        day = t // 24
        while current_day < day:  # the day ends; the next one starts where it left off
            close(current_day)
            current_day += 1
            day_peak = total
        while on_share and on_share[0][0] <= t - cutoff_age:  # retention first...
            total -= on_share.popleft()[1]
        size = backup_size_on_day(per_backup, growth_pct_per_year, day)
        on_share.append((t, size))  # ...then the new backup
        total += size
        day_peak = max(day_peak, total)
    for d in range(current_day, horizon_days(years, horizon)):
        close(d)
        day_peak = total
    return days


@dataclass(frozen=True)
class TableRow:
    frequency_hours: int
    retention_days: int
    backups_kept: int
    required_bytes: int
    peak_bytes: int
    over_capacity: bool | None  # None without a share capacity

    def to_dict(self) -> dict[str, Any]:
        return {"frequencyHours": self.frequency_hours, "retentionDays": self.retention_days,
                "backupsKept": self.backups_kept, "requiredBytes": self.required_bytes,
                "peakBytes": self.peak_bytes, "overCapacity": self.over_capacity}


def sizing_table(per_backup: int, growth_pct_per_year: Growth | float = 0, years: int = 1,
                 share_capacity_bytes: int | None = None,
                 frequencies: tuple[int, ...] = FREQUENCIES,
                 retentions: tuple[int, ...] = RETENTIONS,
                 days: int | None = None) -> list[TableRow]:
    """Every frequency × retention combination (frequency-major order)."""
    rows = []
    for f in frequencies:
        for r in retentions:
            peak = peak_bytes(per_backup, f, r, growth_pct_per_year, years, days)
            rows.append(TableRow(f, r, backups_kept(f, r), required_bytes(per_backup, f, r), peak,
                                 None if share_capacity_bytes is None
                                 else peak > share_capacity_bytes))
    return rows


# --- the whole report --------------------------------------------------------------------------

@dataclass(frozen=True)
class SizingInputs:
    """Validated inputs. ``env`` is None when a custom ``backup_size_gb`` was given."""

    start: dt.date
    env: str | None = DEFAULT_ENV
    backup_size_gb: float | None = None
    frequency_hours: int = DEFAULT_FREQUENCY_HOURS
    retention_days: int = DEFAULT_RETENTION_DAYS
    growth_pct_per_year: float = 0
    years: int = 1
    share_capacity_gb: float | None = None
    growth_gb_per_day: float = 0
    share_used_gb: float = 0  # other data already on the share
    link_mb_per_second: float = DEFAULT_LINK_MB_PER_SECOND
    days: int | None = None  # the horizon in days, instead of whole years

    def __post_init__(self) -> None:
        if self.backup_size_gb is not None:
            if self.env is not None:
                raise BadInput("give either an environment or a backup size, not both")
            check_backup_size_gb(self.backup_size_gb)
        else:
            check_env(self.env if self.env is not None else "")
        check_frequency(self.frequency_hours)
        check_retention(self.retention_days)
        check_years(self.years)
        Growth(pct_per_year=self.growth_pct_per_year, gb_per_day=self.growth_gb_per_day)
        if self.share_capacity_gb is not None:
            check_share_capacity_gb(self.share_capacity_gb)
        check_share_used(self.share_used_gb, self.share_capacity_gb)
        _positive_number("link speed", self.link_mb_per_second, "MB/s")
        if self.days is not None:
            check_range("planning horizon", self.days, (1, YEARS[1] * DAYS_PER_YEAR), "days")

    @property
    def growth(self) -> Growth:
        return Growth(pct_per_year=self.growth_pct_per_year, gb_per_day=self.growth_gb_per_day)

    @property
    def share_used_bytes(self) -> int:
        return gb_to_bytes(self.share_used_gb)

    @property
    def per_backup_bytes(self) -> int:
        if self.backup_size_gb is not None:
            return gb_to_bytes(self.backup_size_gb)
        return per_backup_bytes(self.env or DEFAULT_ENV)

    @property
    def share_capacity_bytes(self) -> int | None:
        return None if self.share_capacity_gb is None else gb_to_bytes(self.share_capacity_gb)

    @property
    def documented_total_bytes(self) -> int | None:
        """REFERENCE.md's documented total for the environment, or None for a custom size."""
        return ENV_DOCUMENTED_TOTAL_GB[self.env] * GB if self.env else None

    @property
    def env_label(self) -> str:
        return ENV_LABELS[self.env] if self.env else "custom backup size"

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "envLabel": self.env_label, "backupSizeGb": self.backup_size_gb,
                "frequencyHours": self.frequency_hours, "retentionDays": self.retention_days,
                "growthPctPerYear": self.growth_pct_per_year, "years": self.years,
                "shareCapacityGb": self.share_capacity_gb,
                "shareCapacityBytes": self.share_capacity_bytes,
                "growthGbPerDay": self.growth_gb_per_day, "shareUsedGb": self.share_used_gb,
                "linkMbPerSecond": self.link_mb_per_second, "days": self.days,
                "startDate": self.start.isoformat()}


@dataclass(frozen=True)
class SizingReport:
    inputs: SizingInputs
    per_backup_bytes: int
    backups_kept: int
    required_bytes: int
    peak_bytes: int              # scheduled backups only
    on_demand_peak_bytes: int    # advisory: peak + one backup of the largest size
    final_per_backup_bytes: int  # the last backup of the horizon (= per backup without growth)
    final_required_bytes: int    # final_per_backup_bytes × backups kept
    headroom_bytes: int | None
    runs_out_on: dt.date | None
    recommended_bytes: int       # on-demand peak + space already used
    job_seconds: float           # one job of the last backup's size at the link speed
    occupancy: list[OccupancyDay] = field(repr=False)
    table: list[TableRow] = field(repr=False)

    @property
    def end_date(self) -> dt.date:
        return self.occupancy[-1].date

    def row(self, frequency_hours: int, retention_days: int) -> TableRow:
        for r in self.table:
            if (r.frequency_hours, r.retention_days) == (frequency_hours, retention_days):
                return r
        raise KeyError((frequency_hours, retention_days))

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_dict(),
            "units": "1 GB = 10^9 bytes (modelled)",
            "perBackupBytes": self.per_backup_bytes,
            "backupsKept": self.backups_kept,
            "requiredBytes": self.required_bytes,
            "peakBytes": self.peak_bytes,
            "onDemandPeakBytes": self.on_demand_peak_bytes,
            "finalPerBackupBytes": self.final_per_backup_bytes,
            "finalRequiredBytes": self.final_required_bytes,
            "documentedTotalBytes": self.inputs.documented_total_bytes,
            "headroomBytes": self.headroom_bytes,
            "recommendedBytes": self.recommended_bytes,
            "shareUsedBytes": self.inputs.share_used_bytes,
            "jobSeconds": self.job_seconds,
            "runsOutOn": self.runs_out_on.isoformat() if self.runs_out_on else None,
            "endDate": self.end_date.isoformat(),
            "occupancy": [d.to_dict() for d in self.occupancy],
            "table": [r.to_dict() for r in self.table],
        }


def plan(inputs: SizingInputs) -> SizingReport:
    """All figures for one policy: the headline numbers, the daily series and the table."""
    size = inputs.per_backup_bytes
    f, r, g, y, d = (inputs.frequency_hours, inputs.retention_days, inputs.growth, inputs.years,
                     inputs.days)
    capacity = inputs.share_capacity_bytes
    used = inputs.share_used_bytes
    series = occupancy_series(size, f, r, g, y, inputs.start, d)
    peak = peak_bytes(size, f, r, g, y, d)
    kept = backups_kept(f, r)
    final_size = backup_size_on_day(size, g, write_hours(f, y, d)[-1] // 24)
    on_demand = on_demand_peak_bytes(size, f, r, g, y, d)
    runs_out = None
    if capacity is not None:
        runs_out = next((day.date for day in series if day.peak_bytes + used > capacity), None)
    return SizingReport(
        inputs=inputs, per_backup_bytes=size, backups_kept=kept, required_bytes=size * kept,
        peak_bytes=peak, on_demand_peak_bytes=on_demand,
        final_per_backup_bytes=final_size, final_required_bytes=final_size * kept,
        headroom_bytes=None if capacity is None else capacity - used - peak, runs_out_on=runs_out,
        recommended_bytes=on_demand + used,
        job_seconds=job_seconds(final_size, inputs.link_mb_per_second),
        occupancy=series, table=sizing_table(size, g, y, None if capacity is None
                                             else capacity - used, days=d),
    )


def job_seconds(backup_bytes: int, link_mb_per_second: float) -> float:
    """How long one job takes in the simulator's model: snapshot every role, then move the
    backup over the link (simulator/config.py; the real service's jobs take 20-40 minutes)."""
    from ibs.simulator.config import ROLE_SNAPSHOT_SECONDS
    from ibs.simulator.roles import ROLES

    return len(ROLES) * ROLE_SNAPSHOT_SECONDS + backup_bytes / (link_mb_per_second * 10**6)
