"""A simulated hub leaves nothing for the cyclic garbage collector.

Objects caught in a reference cycle outlive their use until a collection finds them, and every
collection walks what has survived so far: in a run of simulated years, a cycle made per role
or per backup is both memory held and time spent (4,600 role states a year were, until their
data file's opener stopped referring back to them)."""

from __future__ import annotations

import gc

from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile


def test_a_month_of_a_16_node_hub_makes_no_cyclic_garbage():
    hub = Hub(HubConfig(HubProfile(nodes=16)))
    try:
        hub.run(1)  # construction and the first day's imports and caches
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()
        try:
            hub.run(31)  # some 60 backups, 600 role snapshots, 2,000 records
            assert len(hub.log.of("backup finished")) >= 58
            found = gc.collect()
        finally:
            if enabled:
                gc.enable()
        assert found == 0, f"{found} objects of a month's run were only freed by the collector"
    finally:
        hub.close()
