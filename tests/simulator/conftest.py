from __future__ import annotations

import pytest

from ibs.simulator.clock import ticks
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile


@pytest.fixture
def make_hub():
    hubs = []

    def make(nodes: int = 4, **kw) -> Hub:
        identity = kw.pop("identity", "ADFS")
        version = kw.pop("version", "1.2408.1.50")
        hub = Hub(HubConfig(HubProfile(nodes=nodes, identity=identity, version=version), **kw))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


def at(hub: Hub, hours: float, action) -> None:
    """Run ``action(hub)`` at ``hours`` of virtual time."""

    def proc():
        yield hub.env.timeout(ticks(hours * 3600) - hub.env.now)
        result = action(hub)
        if hasattr(result, "callbacks"):  # a SimPy process: wait for it
            yield result

    hub.env.process(proc())


def finished(hub: Hub) -> list[dict]:
    return hub.log.of("backup finished")
