"""Scenario files: good ones load; every mistake names the file, the line and the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.scenarios.loader import ScenarioError, loads, parse_duration

GOOD = """\
[scenario]
name = "demo"
hub = 4
days = 2

[settings]
frequency_hours = 6

[[events]]
at = "1d2h"
do = "block_port_445"
action = "drop"

[[events]]
at = 3
do = "backup"

[[events]]
at = "40h"
do = "recover"
name = "r1"
role = "CA"

[expect]
backups = { Succeeded = 3 }

[[expect.recovery]]
name = "r1"
outcome = "passed"
"""


def test_a_good_file_loads_with_events_in_time_order():
    s = loads(GOOD, "good.toml")
    assert (s.name, s.hub, s.days, s.fidelity, s.seed) == ("demo", "4", 2.0, "sim", 1)
    assert [(e.at_seconds, e.action) for e in s.events] == [
        (3 * 3600, "backup"), (26 * 3600, "block_port_445"), (40 * 3600, "recover")]
    assert s.events[1].params == {"action": "drop"}
    assert s.events[2].params["backup"] == "newest-succeeded"  # the default
    assert s.expect.backups == {"Succeeded": 3}


def broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


@pytest.mark.parametrize("text, where", [
    (broken("hub = 4", "hub = 3"), "bad.toml:3: scenario.hub: must be 'asdk' or a node count"),
    (broken("frequency_hours = 6", "frequency_hours = 13"),
     "bad.toml:7: settings.frequency_hours: backup frequency must be between 4 and 12 hours"),
    (broken('do = "block_port_445"', 'do = "block_port_446"'),
     "bad.toml:11: events[1].do: unknown action 'block_port_446'"),
    (broken('action = "drop"', 'action = "dorp"'), "bad.toml:12: events[1].action: must be one of"),
    (broken('action = "drop"', 'actoin = "drop"'), "bad.toml:12: events[1].actoin: 'block_port_445' takes no 'actoin'"),
    (broken('at = "1d2h"', 'at = "soon"'), "bad.toml:10: events[1].at: 'soon' is not a duration"),
    (broken("backups = { Succeeded = 3 }", "backups = { Sucess = 3 }"), "bad.toml:25: expect.backups.Sucess"),
    (broken('outcome = "passed"', 'outcome = "fine"'), "bad.toml:29: expect.recovery[1].outcome"),
    (broken('name = "r1"\noutcome', 'name = "r2"\noutcome'), "bad.toml:28: expect.recovery[1].name: no recover event is named 'r2'"),
    (broken("days = 2", "days = 2\ncolour = 1"), "bad.toml:5: scenario.colour: unknown key"),
    (broken("[settings]", "[settings"), "bad.toml:6: not valid TOML"),
    (GOOD.replace('name = "demo"\n', ""), "bad.toml:1: scenario.name: is required"),
])
def test_mistakes_name_file_line_and_key(text, where):
    with pytest.raises(ScenarioError) as info:
        loads(text, "bad.toml")
    assert str(info.value).startswith(where), str(info.value)


@given(st.text(max_size=300))
def test_any_text_loads_or_raises_a_scenario_error(text):
    try:
        loads(text, "fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml:")


@pytest.mark.parametrize("value, seconds", [(1, 3600), (0.5, 1800), ("1d", 86400), ("90m", 5400),
                                            ("1d12h30m15s", 131415), ("2h", 7200)])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds
