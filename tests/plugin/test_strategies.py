"""The Hypothesis strategies: what they draw is valid, runs, and keeps the engine's invariants."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.scenarios.loader import ACTIONS, loads
from ibs.scenarios.model import Event, Scenario
from ibs.scenarios.runner import run_scenario
from ibs.scenarios.strategies import (
    hubs,
    make_event,
    overlapping_backups,
    policies,
    scenarios,
    timelines,
    to_toml,
)
from ibs.simulator.profiles import HubProfile

FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=50, deadline=None)
@given(hubs(), policies())
def test_hubs_and_policies_are_valid(profile: HubProfile, policy: dict) -> None:
    assert profile.asdk or 4 <= profile.nodes <= 16
    assert set(policy) == {"frequency_hours", "retention_days"}
    assert 4 <= policy["frequency_hours"] <= 12 and 2 <= policy["retention_days"] <= 14


@settings(max_examples=50, deadline=None)
@given(st.floats(0.5, 5), st.data())
def test_timelines_are_sorted_valid_events(days: float, data: st.DataObject) -> None:
    timeline = data.draw(timelines(days))
    assert [e.at_seconds for e in timeline] == sorted(e.at_seconds for e in timeline)
    assert all(e.at_seconds < days * 86400 for e in timeline)
    for event in timeline:
        assert isinstance(event, Event)
        assert event.action in ACTIONS and set(event.params) == set(ACTIONS[event.action])


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_a_drawn_scenario_round_trips_through_toml(scenario: Scenario) -> None:
    again = loads(to_toml(scenario), "<drawn>")
    assert again.events == tuple(Event(e.at_seconds, e.action, e.params, again.events[i].line)
                                 for i, e in enumerate(scenario.events))
    assert (again.hub, again.identity, again.stamp_version, again.days, again.seed, again.settings) == \
        (scenario.hub, scenario.identity, scenario.stamp_version, scenario.days, scenario.seed,
         scenario.settings)


def _shrunk(strategy, fails) -> object:
    """What Hypothesis shrinks a failure of ``fails`` to."""
    seen = []

    @settings(database=None, max_examples=200, deadline=None)
    @given(strategy)
    def check(value) -> None:
        if fails(value):
            seen.append(value)
            raise AssertionError

    with pytest.raises(AssertionError):
        check()
    return seen[-1]


def test_scenarios_shrink_to_the_defaults() -> None:
    simplest = _shrunk(scenarios(), lambda s: True)
    assert (simplest.hub, simplest.identity, simplest.settings, simplest.seed, simplest.days,
            simplest.events) == ("4", "ADFS", {"frequency_hours": 12, "retention_days": 7}, 1, 1.02, ())


def test_timelines_shrink_to_one_event_at_time_zero() -> None:
    found = _shrunk(scenarios(), lambda s: any(e.action == "block_port_445" for e in s.events))
    assert [(e.at_seconds, e.action, e.params) for e in found.events] == \
        [(0.0, "block_port_445", {"action": "reject"})]


def test_make_event_checks_names() -> None:
    assert make_event(60, "block_port_445").params == {"action": "reject"}
    with pytest.raises(ValueError, match="needs 'vm'"):
        make_event(0, "ercs_fail")
    with pytest.raises(ValueError, match="takes no"):
        make_event(0, "backup", vm="ERCS01")


@FEW
@given(scenarios(days=st.sampled_from([1.02, 2.02])))
def test_never_two_jobs_at_once(scenario: Scenario) -> None:
    result = run_scenario(scenario)
    assert result.error is None, result.error
    assert result.passed  # no expectations: it only has to run to the end
    assert overlapping_backups(result) == []
    end = scenario.days * 86400
    # A job takes about 23 minutes: one started in the run's last hour may still be running.
    settled = {b["status"] for b in result.backups
               if b["startedAt"] is None or b["startedAt"] < end - 3600}
    assert settled <= {"Succeeded", "PartialSucceeded", "Failed", "Skipped", "Deleted"}


def test_overlapping_backups_finds_overlaps() -> None:
    class R:
        backups: ClassVar[list[dict]] = [{"id": "a", "startedAt": 0, "finishedAt": 100},
                   {"id": "b", "startedAt": 50, "finishedAt": 60},
                   {"id": "c", "startedAt": 100, "finishedAt": 120},
                   {"id": "d", "startedAt": None, "finishedAt": None}]

    assert overlapping_backups(R()) == [("a", "b")]


def test_a_backup_still_running_at_the_end_overlaps_every_later_start() -> None:
    # A job with no finish time was still running when the run stopped, so it was busy through
    # every later start; the job that finished before it began must not be paired with it.
    class R:
        backups: ClassVar[list[dict]] = [{"id": "a", "startedAt": 0, "finishedAt": 100},
                   {"id": "b", "startedAt": 200, "finishedAt": None},
                   {"id": "c", "startedAt": 300, "finishedAt": 400},
                   {"id": "d", "startedAt": 5000, "finishedAt": 5100}]

    assert overlapping_backups(R()) == [("b", "c"), ("b", "d")]


def test_strategies_in_a_users_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_props='''
        from hypothesis import given, settings
        from ibs.scenarios.runner import run_scenario
        from ibs.scenarios.strategies import hubs, overlapping_backups, scenarios

        @settings(max_examples=3, deadline=None)
        @given(scenarios(hub=hubs(), days=1.02))
        def test_invariant(scenario):
            result = run_scenario(scenario)
            assert result.error is None
            assert overlapping_backups(result) == []
    ''')
    pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)
