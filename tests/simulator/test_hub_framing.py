"""A hub's framing (what a backup stores beyond role data) is calibrated once per key and reused
(simulator/calibration.py): whatever hub is built, the framing it plans with is the one a fresh
calibration backup gives."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.simulator.calibration import calibrate
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile
from ibs.simulator.scale import GB

VERSIONS = ["1.2408.1.50", "1.2408", "1.1907.0.2", "1.2501.12.345"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32), nodes=st.sampled_from([1, 4, 16]),
       version=st.sampled_from(VERSIONS), size_gb=st.sampled_from([None, 1, 3, 250]),
       start_day=st.integers(0, 4000))
def test_a_hub_plans_with_the_framing_its_own_calibration_makes(seed, nodes, version, size_gb,
                                                                 start_day):
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=start_day, seconds=seed % 86400)
    profile = HubProfile(nodes=nodes, version=version,
                         size_bytes=None if size_gb is None else size_gb * GB)
    with Hub(HubConfig(profile, seed=seed, start=start)) as hub:
        assert hub.role_plan.framing == fresh(hub)


def test_hubs_of_different_versions_plan_with_different_framings():
    """The stamp version is written in every manifest: its length changes the framing, so
    hubs of two versions must not share one."""
    framings = set()
    for version in ("1.2408", "1.2408.1.50"):
        with Hub(HubConfig(HubProfile(nodes=4, version=version), seed=7)) as hub:
            assert hub.role_plan.framing == fresh(hub)
            framings.add(hub.role_plan.framing)
    assert len(framings) == 2


def fresh(hub: Hub):
    """What a calibration backup of this hub's first day makes, without the cache."""
    return calibrate(hub.certs["initial"][0], hub.ctl.info, hub.roles,
                     hub.profile.backup_bytes_on_day(0), hub.config.start)
