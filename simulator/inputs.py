"""The inputs ``ibs sizing`` and ``ibs simulate`` share: one definition, the same names and help.

A scenario's ``[settings]`` take the same inputs under the same names with underscores
(docs/SCENARIOS.md).
"""

from __future__ import annotations

import argparse

from simulator.network import DEFAULT_LINK_MB_PER_SECOND


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
