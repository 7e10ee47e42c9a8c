"""Properties over hubs, policies and seeds: one job at a time, capacity, sizing, replay."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.simulator import actions, sizing
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile
from ibs.simulator.scale import GB

profiles = st.builds(
    HubProfile,
    nodes=st.sampled_from([1, 4, 8, 16]),
    identity=st.sampled_from(["ADFS", "AzureAD"]),
)
policies = st.tuples(st.sampled_from([4, 6, 8, 12]), st.integers(2, 5))


def intervals(hub: Hub) -> list[tuple[float, float]]:
    starts = {e["id"]: e["t"] for e in hub.log.of("backup started")}
    ends = {e["id"]: e["t"] for e in hub.log.of("backup finished") + hub.log.of("controller crashed")}
    return sorted((starts[i], ends.get(i, float("inf"))) for i in starts)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles, policy=policies, seed=st.integers(0, 2**16),
       on_demand_hours=st.lists(st.floats(0, 24 * 6), max_size=4))
def test_one_job_at_a_time_and_the_sizing_figures_hold(profile, policy, seed, on_demand_hours):
    frequency, retention = policy
    days = retention + 1.02
    with Hub(HubConfig(profile, seed=seed, frequency_hours=frequency,
                       retention_days=retention)) as hub:
        for hours in on_demand_hours:
            def later(hours=hours):
                yield hub.timeout(hours * 3600)
                yield actions.request_backup(hub)
            hub.env.process(later())
        hub.run(days)
        spans = intervals(hub)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
        if not on_demand_hours:
            plan = sizing.plan(sizing.SizingInputs(
                start=dt.date(2026, 1, 1), env=None, backup_size_gb=profile.backup_bytes / GB,
                frequency_hours=frequency, retention_days=retention, years=1))
            # The simulated share holds what the model says, up to the few bytes each backup
            # keeps under its modelled size.
            assert 0.995 * plan.peak_bytes <= hub.peak_bytes <= plan.peak_bytes
            on_share = [r for r in hub.ctl.backups() if r.status == "Succeeded"]
            assert len(on_share) == plan.backups_kept


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capacity_gb=st.integers(10, 200), seed=st.integers(0, 2**16),
       fill_at=st.floats(1, 40), free_gb=st.floats(0, 30))
def test_the_share_never_holds_more_than_its_capacity(capacity_gb, seed, fill_at, free_gb):
    with Hub(HubConfig(HubProfile(nodes=4), seed=seed,
                       share_capacity_bytes=capacity_gb * GB)) as hub:
        def fill():
            yield hub.timeout(fill_at * 3600)
            actions.fill_share(hub, free_gb)
        hub.env.process(fill())
        hub.run(3)
        assert hub.peak_bytes <= capacity_gb * GB
        failed = [e for e in hub.log.of("backup finished") if e["status"] == "Failed"]
        assert all(e["category"] == "ShareCapacity" for e in failed)
        if capacity_gb < 20:
            assert failed


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32), nodes=st.sampled_from([1, 4, 16]))
def test_the_same_seed_replays_identically(seed, nodes):
    logs = []
    for _ in range(2):
        with Hub(HubConfig(HubProfile(nodes=nodes), seed=seed, frequency_hours=4)) as hub:
            hub.env.process(_faults(hub))
            hub.run(2)
            logs.append(hub.log.to_jsonl())
    assert logs[0] == logs[1]


def _faults(hub):
    yield hub.timeout(5 * 3600)
    actions.block_port_445(hub, "reject")
    yield hub.timeout(6 * 3600)
    actions.remove_firewall_rule(hub, "block-445")
    actions.fail_ercs(hub, "ERCS01")
