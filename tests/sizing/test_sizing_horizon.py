"""A planning horizon in days runs from 1 day to the longest in years (10 years of 365 days):
both ends are accepted, one day beyond either is refused naming the horizon (a surviving
mutant made the top 10/365 of a day)."""

from __future__ import annotations

import datetime as dt

import pytest

from ibs.engine.errors import BadInput
from ibs.simulator import sizing as sz

START = dt.date(2026, 1, 1)


@pytest.mark.parametrize("days", [1, 30, 3650])
def test_a_horizon_within_the_bounds_is_accepted(days):
    assert sz.SizingInputs(start=START, days=days).days == days


@pytest.mark.parametrize("days", [0, 3651])
def test_a_horizon_beyond_the_bounds_is_refused(days):
    with pytest.raises(BadInput, match=f"planning horizon.*{days}"):
        sz.SizingInputs(start=START, days=days)
