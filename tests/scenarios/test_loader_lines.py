"""Scenario files: every mistake at its own line, events that could never take effect refused,
and locating lines in time proportional to the file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ibs.scenarios
from ibs.scenarios.loader import ScenarioError, loads
from ibs.scenarios.toml_lines import LineIndex

HEAD = '[scenario]\nname = "x"\nhub = 4\ndays = 2\n'


def error(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        loads(text, "f.toml")
    return str(info.value)


def events(*lines: str) -> str:
    """HEAD and then one [[events]] per argument (its keys, separated by ';')."""
    body = "".join("\n[[events]]\n" + "\n".join(e.split("; ")) + "\n" for e in lines)
    return HEAD + body


# --- every mistake at its own line ------------------------------------------------------------


@pytest.mark.parametrize("text, where", [
    (HEAD + "\n[setting]\nfrequency_hours = 6\n", "f.toml:6: [setting]: unknown table; did you mean [settings]?"),
    (HEAD + "\n[expects]\nbackups = { Succeeded = 1 }\n", "f.toml:6: [expects]: unknown table; did you mean [expect]?"),
    (HEAD + '\n[[event]]\nat = 1\ndo = "backup"\n', "f.toml:6: [[event]]: unknown table; did you mean [[events]]?"),
    (HEAD + "\n[expect.backups]\nSucceeded = 1\n[settings.x]\ny = 1\n", "f.toml:8: settings.x: unknown key"),
    ("setings.frequency_hours = 6\n" + HEAD, "f.toml:1: setings: unknown key; did you mean [settings]?"),
    ('scenario.name = "x"\nscenario.hub = 4\nscenario.days = 2\nsettings = { frequency = 6 }\n',
     "f.toml:4: settings.frequency: unknown key; did you mean 'frequency_hours'?"),
    (HEAD + '\n[events]\nat = 1\ndo = "backup"\n', "f.toml:6: [events]: must be written [[events]]"),
    (HEAD + "\n[expect]\n\nbackups.Sucess = 3\n", "f.toml:8: expect.backups.Sucess"),
    (HEAD + '\n[[events]]\nat = 1\ndo = "backup"\n[[expect.backup]]\nindex = 1\nstatus = "Fine"\n',
     "f.toml:11: expect.backup[1].status"),
    (events('at = 1; do = "bakup"'), "f.toml:8: events[1].do: unknown action 'bakup'; did you mean 'backup'?"),
    (events('at = 1; do = ["backup"]'), "f.toml:8: events[1].do: unknown action ['backup']"),
    (events('at = "1h"; do = "recover"; name = "r"', 'at = "2h"; do = "recover"; name = "r"'),
     "f.toml:14: events[2].name: another recover event is already named 'r'"),
])
def test_a_mistake_is_reported_at_its_own_line(text, where):
    assert error(text).startswith(where), error(text)


def test_headers_and_keys_inside_strings_and_arrays_are_not_taken_for_real_ones():
    text = '''\
[ scenario ]  # spaces in a header are allowed
name = "x"
description = """
[[events]]
at = 1
"""
tags = [
  "a]", # a comment with ] and [
  'b"',
]
'hub' = 4
days = 2
[[ events ]]
at = 1
do = "dns_restorre"
'''
    assert error(text).startswith("f.toml:15: events[1].do: unknown action 'dns_restorre'")
    index = LineIndex(text)
    assert (index.line("scenario"), index.line("scenario", "hub"), index.line("events", 0),
            index.line("events", 0, "do"), index.line("events", 1)) == (1, 11, 13, 15, 13)


def test_nested_arrays_of_tables_are_located_per_parent():
    index = LineIndex("[[a]]\n[[a.b]]\nx = 1\n[[a]]\n[[a.b]]\n[[a.b]]\nx = 2\n[a.c]\ny = 3\n")
    assert (index.line("a", 0, "b", 0, "x"), index.line("a", 1, "b", 1, "x"),
            index.line("a", 1, "c", "y"), index.form("a"), index.form("a", 1, "c")) == \
        (3, 7, 9, "array", "table")


# A random valid file, and one unknown key or table planted where a random choice says; the
# error names the exact line it was planted on. Strings and arrays over several lines hold
# lines that look like headers and keys.

_DECOYS = [['description = """', "[[events]]", "at = 1", '"""'],
           ["tags = [", '  "[settings]",', "  'x = 1', # ]", "]"]]
_SPACED = {"[scenario]": "[ scenario ]", "[settings]": "[settings ]  # x = 1", "[[events]]": "[[ events ]]"}


@st.composite
def _file(draw: st.DrawFn) -> tuple[str, int]:
    def table(header: str, units: list[list[str]], decoys: list[list[str]] = ()) -> list[list[str]]:
        extras = [*decoys, *draw(st.lists(st.sampled_from([[""], ["# x = 1"]]), max_size=2))]
        for extra in extras:
            units.insert(draw(st.integers(0, len(units))), extra)
        return [[_SPACED[header] if draw(st.booleans()) else header], *units]

    decoys = draw(st.lists(st.sampled_from(_DECOYS), unique_by=lambda d: d[0], max_size=2))
    tables = [table("[scenario]", [['name = "x"'], ["hub = 4"], ["days = 2"]], decoys)]
    if draw(st.booleans()):
        tables.append(table("[settings]", [["frequency_hours = 6"], ["scheduler = true"]]))
    for i in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from([['do = "backup"'], ['"do" = "dns_fail"'],
                                       ['do = "maintenance"', "hours = 2"]]))
        tables.append(table("[[events]]", [[f'at = "{i + 1}h"'], *[[k] for k in action]]))
    name = draw(st.from_regex(r"x[a-z_]{2,7}", fullmatch=True))  # no known key starts with x
    where = draw(st.integers(-1, len(tables) - 1))
    if where == -1:  # an unknown table before, between or after the others
        planted = f"[{name}]"
        tables.insert(draw(st.integers(0, len(tables))), [[planted], ["y = 1"]])
    else:
        planted = f"{name} = 1"
        tables[where].insert(draw(st.integers(1, len(tables[where]))), [planted])
    lines = [line for t in tables for unit in t for line in unit]
    return "\n".join(lines) + "\n", lines.index(planted) + 1


@settings(max_examples=300, deadline=None)
@given(_file())
def test_a_planted_unknown_key_or_table_is_reported_at_its_line(case):
    text, line = case
    assert error(text).startswith(f"f.toml:{line}: "), (error(text), text)


# --- locating is linear -----------------------------------------------------------------------

_PACKAGE = str(Path(ibs.scenarios.__file__).parent)


def _lines_run_loading(text: str) -> int:
    """Lines of the scenarios package executed while loading ``text``: the loader's work, counted
    without a clock."""
    count = 0

    def local(frame, event, arg):  # noqa: ANN001, ANN202
        nonlocal count
        count += event == "line"
        return local

    def calls(frame, event, arg):  # noqa: ANN001, ANN202
        return local if frame.f_code.co_filename.startswith(_PACKAGE) else None

    before = sys.gettrace()
    sys.settrace(calls)
    try:
        loads(text, "many.toml")
    finally:
        sys.settrace(before)
    return count


def _many(n: int) -> str:
    return HEAD.replace("days = 2", "days = 30") + "".join(
        f'\n[[events]]\nat = "{i + 1}m"\ndo = "{("dns_fail", "dns_restore")[i % 2]}"\n' for i in range(n))


def test_loading_four_times_the_events_is_about_four_times_the_work():
    # Locating each event by scanning from the top made it sixteen times (quadratic).
    small, large = _lines_run_loading(_many(100)), _lines_run_loading(_many(400))
    assert large < 6 * small, (small, large)


# --- events that could never take effect ------------------------------------------------------


# 47.9999999999999 h is less than a microsecond (the simulator's tick) before the end.
@pytest.mark.parametrize("at", ['"2d"', '"48h"', "48", '"3d"', "100.5", "47.9999999999999"])
def test_an_event_at_or_after_the_end_of_the_run_is_an_error(at):
    message = error(events('at = "1h"; do = "backup"', f'at = {at}; do = "backup"'))
    assert message.startswith("f.toml:11: events[2].at: ") and "run ends at 48h (days = 2)" in message


@pytest.mark.parametrize("text, where", [
    (events('at = nan; do = "backup"'), "f.toml:7: events[1].at: nan is not a duration"),
    (events('at = inf; do = "backup"'), "f.toml:7: events[1].at: inf is not a duration"),
])
def test_a_time_no_event_can_have_is_an_error(text, where):
    assert error(text).startswith(where), error(text)


def test_an_event_just_before_the_end_of_the_run_loads():
    assert [e.at_seconds for e in loads(events('at = "47h59m59s"; do = "backup"')).events] == [172799]


@pytest.mark.parametrize("text, where", [
    (events('at = "2h"; do = "unblock_port_445"'),
     "f.toml:8: events[1].do: no block_port_445 comes before it (at 2h)"),
    # Same instant, written after: the runner plays it after, so it lifts nothing.
    (events('at = "2h"; do = "unblock_port_445"', 'at = "2h"; do = "block_port_445"'),
     "f.toml:8: events[1].do: no block_port_445"),
    (events('at = "1h"; do = "firewall_rule_add"; name = "a"; action = "drop"',
            'at = "2h"; do = "firewall_rule_remove"; name = "b"'),
     "f.toml:15: events[2].name: no firewall_rule_add named 'b'"),
    (events('at = "1h"; do = "dns_restore"'), "f.toml:8: events[1].do: no dns_fail"),
    (events('at = "3h"; do = "dns_fail"', 'at = "1h"; do = "dns_restore"'),
     "f.toml:12: events[2].do: no dns_fail comes before it (at 1h)"),
    (events('at = "1h"; do = "ercs_fail"; vm = "ERCS01"', 'at = "2h"; do = "ercs_restore"; vm = "ERCS02"'),
     "f.toml:14: events[2].vm: no ercs_fail of ERCS02"),
    (events('at = "1h"; do = "free_share"'), "f.toml:8: events[1].do: no fill_share"),
    (events('at = "1h"; do = "recover"; name = "r"; pfx = "next"'),
     "f.toml:10: events[1].pfx: no operator_certificate named 'next'"),
])
def test_an_event_that_undoes_what_nothing_did_is_an_error(text, where):
    assert error(text).startswith(where), error(text)


def test_what_an_earlier_event_did_can_be_undone():
    text = events('at = "1h"; do = "block_port_445"', 'at = "1h"; do = "unblock_port_445"',
                  'at = "2h"; do = "firewall_rule_add"; name = "a"; action = "drop"',
                  'at = "2h"; do = "block_port_445"', 'at = "3h"; do = "firewall_rule_remove"; name = "a"',
                  'at = "3h"; do = "firewall_rule_remove"; name = "block-445"',
                  'at = "4h"; do = "dns_fail"', 'at = "5h"; do = "dns_restore"',
                  'at = "6h"; do = "fill_share"; free_gb = 1', 'at = "7h"; do = "free_share"',
                  'at = "8h"; do = "ercs_fail"; vm = "ERCS02"', 'at = "9h"; do = "ercs_restore"; vm = "ERCS02"',
                  'at = "10h"; do = "operator_certificate"; name = "c2"',
                  'at = "11h"; do = "recover"; name = "r1"; pfx = "c2"',
                  'at = "11h"; do = "recover"; name = "r2"; pfx = "initial"')
    assert len(loads(text).events) == 15
