"""The simulated share behaves as the sizing model says, at the boundary (issue 10, item 1).

A share of exactly the peak ``ibs sizing`` reports holds the schedule for the whole horizon; a
share 1 GB smaller runs out on the day sizing predicts (within a day). Each case runs the real
engine on a simulated hub (simulator/crosscheck.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.simulator.crosscheck import cross_check
from ibs.simulator.sizing import SizingInputs, plan

START = dt.date(2026, 1, 1)
ENVS = ("asdk", "4-16", "4-16-aad")
CORNERS = [(4, 2), (4, 14), (12, 2), (12, 14)]
GROWTHS = [{}, {"growth_pct_per_year": 200, "growth_gb_per_day": 0.05}]


def _inputs(env, f, r, growth, days, capacity_gb=None, used_gb=0.0):
    return SizingInputs(start=START, env=env, frequency_hours=f, retention_days=r, days=days,
                        share_capacity_gb=capacity_gb, share_used_gb=used_gb, **growth)


@pytest.mark.slow
@pytest.mark.parametrize("growth", GROWTHS, ids=["flat", "growing"])
@pytest.mark.parametrize("f,r", CORNERS, ids=[f"{f}h-{r}d" for f, r in CORNERS])
@pytest.mark.parametrize("env", ENVS)
def test_a_share_of_exactly_the_peak_holds_and_one_gb_less_runs_out(env, f, r, growth):
    days = r + 4
    peak = plan(_inputs(env, f, r, growth, days)).peak_bytes
    exact = cross_check(_inputs(env, f, r, growth, days, capacity_gb=peak / 1e9))
    assert exact.agree, exact.disagreements
    assert exact.simulation.runs_out_on is None
    assert exact.sizing.peak_bytes == peak
    smaller = cross_check(_inputs(env, f, r, growth, days, capacity_gb=peak / 1e9 - 1))
    assert smaller.sizing.runs_out_on is not None
    assert smaller.agree, smaller.disagreements


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env=st.sampled_from(ENVS), f=st.sampled_from([4, 6, 8, 12]), r=st.integers(2, 6),
       pct=st.sampled_from([0, 25, 500]), gb_day=st.sampled_from([0, 0.2]),
       used=st.sampled_from([0, 7.5]), extra=st.integers(1, 6),
       slack_gb=st.sampled_from([-3, -1, 0, 2]))
def test_sizing_and_simulation_agree_for_any_profile(env, f, r, pct, gb_day, used, extra,
                                                      slack_gb):
    growth = {"growth_pct_per_year": pct, "growth_gb_per_day": gb_day}
    days = r + extra
    peak = plan(_inputs(env, f, r, growth, days, used_gb=used)).peak_bytes
    check = cross_check(_inputs(env, f, r, growth, days, capacity_gb=peak / 1e9 + used + slack_gb,
                                used_gb=used))
    assert check.agree, check.disagreements
    assert (check.simulation.runs_out_on is None) == (slack_gb >= 0)


def test_the_sizing_report_recommends_room_for_an_on_demand_backup_and_used_space():
    report = plan(_inputs("4-16", 12, 7, {}, 30, capacity_gb=300, used_gb=25))
    assert report.peak_bytes == 280 * 10**9
    assert report.recommended_bytes == (280 + 20 + 25) * 10**9
    assert report.headroom_bytes == (300 - 25 - 280) * 10**9
    assert report.runs_out_on is not None  # 25 GB of other data leave 275 GB: day 7
    assert (report.runs_out_on - START).days == 7
    # Ten roles at 120 s, then 20 GB at 100 MB/s: 23 min 20 s (REFERENCE.md: 20-40 min).
    assert report.job_seconds == 1400


def test_a_scenario_takes_the_sizing_inputs_and_agrees_with_sizing():
    from ibs.scenarios.loader import loads
    from ibs.scenarios.runner import run_scenario

    inputs = _inputs("4-16", 12, 3, {"growth_pct_per_year": 300, "growth_gb_per_day": 0.5}, 10,
                     used_gb=40)
    peak = plan(inputs).peak_bytes
    result = run_scenario(loads(f'''
[scenario]
name = "the plan, lived"
hub = 4
days = 10

[settings]
retention_days = 3
growth_pct_per_year = 300
growth_gb_per_day = 0.5
share_used_gb = 40
share_capacity_gb = {(peak + 40 * 10**9) / 1e9}
link_mb_per_second = 50
'''))
    assert result.passed, result.checks
    assert [b["status"] for b in result.backups].count("Failed") == 0
    assert peak - 6 * 4 * 10**6 <= result.summary["sharePeakBytes"] <= peak
    durations = [b["finishedAt"] - b["startedAt"] for b in result.backups]
    assert all(10 * 120 + 19.9e9 / 50e6 <= d <= 10 * 120 + 27e9 / 50e6 for d in durations), durations


@pytest.mark.parametrize("used_gb,capacity_gb,ok", [(0, 100, True), (99.5, 100, True),
                                                      (100, 100, False), (-1, 100, False)])
def test_sizing_simulate_and_scenarios_hold_the_space_used_to_one_rule(used_gb, capacity_gb, ok):
    from ibs.engine.errors import BadInput
    from ibs.scenarios.loader import ScenarioError, loads
    from ibs.simulator.config import HubConfig
    from ibs.simulator.profiles import HubProfile

    def sizing():
        SizingInputs(start=START, share_capacity_gb=capacity_gb, share_used_gb=used_gb)

    def simulate():
        HubConfig(HubProfile(nodes=4), share_capacity_bytes=int(capacity_gb * 1e9),
                  share_used_bytes=int(used_gb * 1e9))

    def scenario():
        loads(f'[scenario]\nname = "x"\nhub = 4\ndays = 1\n\n[settings]\n'
              f'share_capacity_gb = {capacity_gb}\nshare_used_gb = {used_gb}\n', "s.toml")

    for attempt in (sizing, simulate, scenario):
        if ok:
            attempt()
        else:
            with pytest.raises(BadInput, match="already used on the share") as err:
                attempt()
            if attempt is scenario:
                assert err.type is ScenarioError and str(err.value).startswith("s.toml:8:")
