"""The inputs ``ibs sizing`` and ``ibs simulate`` share: one definition, the same names and help.

A scenario's ``[settings]`` take the same inputs under the same names with underscores
(docs/SCENARIOS.md); :func:`hub_config` turns either into a simulated hub's configuration.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ibs.simulator import scale
from ibs.simulator.config import HubConfig
from ibs.simulator.growth import Growth
from ibs.simulator.network import DEFAULT_LINK_MB_PER_SECOND, Link
from ibs.simulator.profiles import HubProfile

#: Each input's value when it is not given, by its name in [settings] (and, dashed, on the CLI).
DEFAULTS: dict[str, Any] = {
    "frequency_hours": 12, "retention_days": 7, "scheduler": True, "share_capacity_gb": 10_000,
    "share_used_gb": 0, "growth_pct_per_year": 0, "growth_gb_per_day": 0,
    "link_mb_per_second": DEFAULT_LINK_MB_PER_SECOND,
}


def growth_of(values: Mapping[str, Any]) -> Growth:
    return Growth(pct_per_year=values.get("growth_pct_per_year", 0),
                  gb_per_day=values.get("growth_gb_per_day", 0))


def hub_config(profile: HubProfile, values: Mapping[str, Any], **config: Any) -> HubConfig:
    """A hub's configuration from the shared inputs (a scenario's [settings], or the parsed
    options of ``ibs simulate``), in GB and MB/s as people give them; ``config`` adds the rest
    (seed, fidelity, ...)."""
    v = {key: values.get(key, default) for key, default in DEFAULTS.items()}
    return HubConfig(
        profile=profile, frequency_hours=v["frequency_hours"], retention_days=v["retention_days"],
        scheduler=v["scheduler"], share_capacity_bytes=round(v["share_capacity_gb"] * scale.GB),
        share_used_bytes=round(v["share_used_gb"] * scale.GB),
        link=Link(bytes_per_second=v["link_mb_per_second"] * scale.MB), **config)


def add_shared_inputs(p: argparse.ArgumentParser) -> None:
    """Policy, growth, the space already used on the share and the link to it."""
    p.add_argument("--frequency-hours", type=int, default=12, metavar="N",
                   help="hours between backups, 4 to 12 (default 12)")
    p.add_argument("--retention-days", type=int, default=7, metavar="N",
                   help="days a backup is kept, 2 to 14 (default 7)")
    p.add_argument("--growth-pct-per-year", type=float, default=0.0, metavar="N",
                   help="yearly growth of the backup size in %%, compound, 0 to 1000 (default 0)")
    p.add_argument("--growth-gb-per-day", type=float, default=0.0, metavar="N",
                   help="growth of the backup size in GB per day, 0 to 1000 (default 0; adds "
                   "to --growth-pct-per-year)")
    p.add_argument("--share-used-gb", type=float, default=0.0, metavar="N",
                   help="space other data already takes on the share, in GB (default 0)")
    p.add_argument("--link-mb-per-second", type=float, default=DEFAULT_LINK_MB_PER_SECOND,
                   metavar="N", help="bandwidth to the share in MB/s, for a job's duration "
                   f"(default {DEFAULT_LINK_MB_PER_SECOND})")
