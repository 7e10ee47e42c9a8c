"""Manifest times: the one spelling format_time writes is the one parse_time reads, for every
instant a datetime can hold (a mutant survivor showed years below 1000 written unreadably)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.manifest import format_time, parse_time

_ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5)),
                          dt.timezone(dt.timedelta(hours=13, minutes=45))])


@given(t=st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                      timezones=_ZONES))
def test_every_time_is_written_in_the_one_spelling_and_read_back(t):
    text = format_time(t)
    assert len(text) == len("2026-03-01T08:00:00.000000Z") and text.endswith("Z")
    assert parse_time(text) == t


def test_years_below_1000_have_four_digits():
    t = dt.datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    assert format_time(t) == "0999-01-02T03:04:05.000006Z"
    assert parse_time("0999-01-02T03:04:05.000006Z") == t
