"""A simulated hub leaves nothing for the cyclic garbage collector, and keeps little per backup.

Objects caught in a reference cycle outlive their use until a collection finds them, and every
collection walks what has survived so far: in a run of simulated years, a cycle made per role
or per backup is both memory held and time spent (4,600 role states a year were, until their
data file's opener stopped referring back to them). What a run keeps on purpose (its samples,
snapshots, records and log) counts too: each object kept brings the next collection nearer.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import pytest

from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile

# Objects (of the kinds the collector counts) a 16-node hub keeps per backup: some 60 in a
# month, many of them the caches filling. It was 98 while the meter kept a tuple per sample
# (about 23 a backup) and the hub every backup's snapshot objects (about 18).
KEPT_PER_BACKUP = 75


@dataclass
class Month:
    backups: int
    kept: int  # the collector's count of new objects over the month (what brings a collection)
    garbage: int  # objects only the collector freed


@pytest.fixture(scope="module")
def month() -> Month:
    hub = Hub(HubConfig(HubProfile(nodes=16)))
    try:
        hub.run(1)  # construction and the first day's imports and caches
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()
        try:
            # Objects made less those freed (never below 0), while nothing collects: what the
            # month keeps, as the collector counts towards its next collection.
            made = gc.get_count()[0]
            hub.run(31)  # some 60 backups, 600 role snapshots, 2,000 records
            kept = gc.get_count()[0] - made
            garbage = gc.collect()
        finally:
            if enabled:
                gc.enable()
        return Month(len(hub.log.of("backup finished")), kept, garbage)
    finally:
        hub.close()


def test_a_month_of_a_16_node_hub_makes_no_cyclic_garbage(month):
    assert month.backups >= 58
    assert month.garbage == 0, (
        f"{month.garbage} objects of a month's run were only freed by the collector")


def test_a_month_of_a_16_node_hub_keeps_few_objects_per_backup(month):
    per_backup = month.kept / month.backups
    assert per_backup <= KEPT_PER_BACKUP, (
        f"a month's run keeps {per_backup:.1f} objects per backup (at most {KEPT_PER_BACKUP})")
