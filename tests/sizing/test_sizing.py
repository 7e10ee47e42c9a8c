"""ibs.simulator.sizing: the REFERENCE.md figures exactly, and properties of the model."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.errors import BadInput
from ibs.simulator import sizing as sz

GB = 10**9
START = dt.date(2026, 1, 1)
freqs = st.integers(4, 12)
rets = st.integers(2, 14)
sizes = st.integers(1, 50 * GB)
growths = st.one_of(st.just(0.0), st.floats(0, 1000, allow_nan=False))


@pytest.mark.parametrize(("env", "per", "total"), [
    ("4-16", 20 * GB, 280 * GB), ("asdk", 10 * GB, 140 * GB), ("4-16-aad", 1 * GB, 14 * GB)])
def test_reference_defaults(env: str, per: int, total: int) -> None:
    rep = sz.plan(sz.SizingInputs(start=START, env=env))
    assert rep.per_backup_bytes == per
    assert rep.backups_kept == 14
    assert rep.required_bytes == total
    assert rep.peak_bytes == total  # expired backups go before each write
    assert rep.on_demand_peak_bytes == total + per
    assert rep.to_dict()["onDemandPeakBytes"] == total + per
    assert rep.headroom_bytes is None and rep.runs_out_on is None


def test_reference_documented_totals() -> None:
    # REFERENCE.md's "total" column; for 4-16-aad it says 20 GB where the formula gives 14 GB.
    for env, total in (("4-16", 280), ("asdk", 140), ("4-16-aad", 20)):
        assert sz.SizingInputs(start=START, env=env).documented_total_bytes == total * GB
        assert sz.plan(sz.SizingInputs(start=START, env=env)).to_dict()["documentedTotalBytes"] \
            == total * GB
    assert sz.SizingInputs(start=START, env=None, backup_size_gb=3).documented_total_bytes is None


def test_reference_extremes() -> None:
    rep = sz.plan(sz.SizingInputs(start=START, frequency_hours=4, retention_days=14))
    assert rep.backups_kept == 84
    assert rep.required_bytes == 1_680 * GB  # 1.68 TB
    assert sz.format_bytes(rep.required_bytes) == "1.68 TB"
    assert sz.format_bytes(280 * GB) == "280 GB"


def test_defaults_match_engine() -> None:
    i = sz.SizingInputs(start=START)
    assert (i.env, i.frequency_hours, i.retention_days, i.growth_pct_per_year, i.years) == \
        ("4-16", 12, 7, 0, 1)


@given(sizes, freqs, rets)
def test_required_is_size_times_kept(size: int, f: int, r: int) -> None:
    assert sz.required_bytes(size, f, r) == size * sz.backups_kept(f, r)
    if (24 * r) % f == 0:
        assert sz.backups_kept(f, r) == 24 * r // f


@given(sizes, freqs, rets, st.integers(1, 3))
def test_peak_without_growth_is_required(size: int, f: int, r: int, years: int) -> None:
    assert sz.peak_bytes(size, f, r, 0, years) == sz.required_bytes(size, f, r)
    assert sz.on_demand_peak_bytes(size, f, r, 0, years) == sz.required_bytes(size, f, r) + size


def test_first_backup_one_period_after_enabling() -> None:
    assert list(sz.write_hours(12, 1)[:3]) == [12, 24, 36]
    assert sz.write_hours(5, 1)[0] == 5 and 0 not in sz.write_hours(4, 1)


def test_retention_runs_before_the_write() -> None:
    # 12 h, 2 days: at hour 60 the backup of hour 12 (48 h old) goes first, then 60 is written.
    series = sz.occupancy_series(GB, 12, 2, 0, 1, START)
    assert [(d.backups, d.bytes, d.peak_bytes) for d in series[:4]] == \
        [(1, GB, GB), (3, 3 * GB, 3 * GB), (4, 4 * GB, 4 * GB), (4, 4 * GB, 4 * GB)]


@given(sizes, freqs, rets, growths)
def test_on_demand_adds_the_largest_backup(size: int, f: int, r: int, g: float) -> None:
    rep_peak = sz.peak_bytes(size, f, r, g)
    last_day = sz.write_hours(f, 1)[-1] // 24
    assert last_day == 364
    assert sz.on_demand_peak_bytes(size, f, r, g) == \
        rep_peak + sz.backup_size_on_day(size, g, last_day)


@given(sizes, freqs, rets, growths)
def test_monotonic_in_frequency_and_retention(size: int, f: int, r: int, g: float) -> None:
    if f < 12:
        assert sz.backups_kept(f + 1, r) <= sz.backups_kept(f, r)
        assert sz.required_bytes(size, f + 1, r) <= sz.required_bytes(size, f, r)
        # Only without growth: two frequencies can keep as many backups (10 h and 11 h over 2 days
        # keep 5), and the sparser schedule's writes may fall on later days, so weigh more.
        assert sz.peak_bytes(size, f + 1, r) <= sz.peak_bytes(size, f, r)
    if r < 14:
        assert sz.backups_kept(f, r + 1) >= sz.backups_kept(f, r)
        assert sz.required_bytes(size, f, r + 1) >= sz.required_bytes(size, f, r)
        assert sz.peak_bytes(size, f, r + 1, g) >= sz.peak_bytes(size, f, r, g)


@given(sizes, freqs, rets, growths)
def test_growth_never_lowers_the_peak(size: int, f: int, r: int, g: float) -> None:
    assert sz.peak_bytes(size, f, r, g) >= sz.peak_bytes(size, f, r, 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30 * GB), freqs, rets, growths, st.integers(1, 2),
       st.one_of(st.none(), st.integers(1, 2000)))
def test_table_has_the_policy_row(size: int, f: int, r: int, g: float, years: int,
                                  cap_gb: int | None) -> None:
    rep = sz.plan(sz.SizingInputs(start=START, env=None, backup_size_gb=size / GB,
                                  frequency_hours=f, retention_days=r, growth_pct_per_year=g,
                                  years=years, share_capacity_gb=cap_gb))
    assert len(rep.table) == len(sz.FREQUENCIES) * len(sz.RETENTIONS)
    row = rep.row(f, r)
    assert (row.backups_kept, row.required_bytes, row.peak_bytes) == \
        (rep.backups_kept, rep.required_bytes, rep.peak_bytes)
    assert rep.on_demand_peak_bytes == rep.peak_bytes + rep.final_per_backup_bytes
    assert rep.to_dict()["onDemandPeakBytes"] == rep.on_demand_peak_bytes
    d = rep.to_dict()
    js = next(x for x in d["table"] if (x["frequencyHours"], x["retentionDays"]) == (f, r))
    assert {"frequencyHours": f, "retentionDays": r, "backupsKept": rep.backups_kept,
            "requiredBytes": rep.required_bytes, "peakBytes": rep.peak_bytes}.items() <= js.items()
    # the series agrees with the headline figures
    assert max(day.peak_bytes for day in rep.occupancy) == rep.peak_bytes
    assert len(rep.occupancy) == 365 * years
    if cap_gb is not None:
        cap = cap_gb * GB
        assert rep.headroom_bytes == cap - rep.peak_bytes
        assert (rep.runs_out_on is None) == (rep.peak_bytes <= cap)
        if rep.runs_out_on is not None:
            first = next(day for day in rep.occupancy if day.peak_bytes > cap)
            assert rep.runs_out_on == first.date == START + dt.timedelta(days=first.day)
            assert row.over_capacity is True
        else:
            assert row.over_capacity is False


@settings(max_examples=60, deadline=None)
@given(sizes, freqs, rets)
def test_series_without_growth_settles_at_required(size: int, f: int, r: int) -> None:
    series = sz.occupancy_series(size, f, r, 0, 1, START)
    kept = sz.backups_kept(f, r)
    # from day r on, every day ends with the full set and its writes reach exactly the budget
    settled = series[r:]
    assert all(d.backups == kept and d.bytes == d.peak_bytes == kept * size for d in settled)
    # it fills up from an empty share (first backup at hour f), never above the steady figure
    assert series[0].bytes == size * len(range(f, 24, f))
    assert all(d.bytes <= d.peak_bytes <= kept * size for d in series)
    assert max(d.peak_bytes for d in series) == sz.peak_bytes(size, f, r) == kept * size
    assert [d.day for d in series] == list(range(365))


@settings(max_examples=40, deadline=None)
@given(sizes, freqs, rets, growths, st.integers(1, 2))
def test_series_max_is_the_peak(size: int, f: int, r: int, g: float, years: int) -> None:
    series = sz.occupancy_series(size, f, r, g, years, START)
    assert max(d.peak_bytes for d in series) == sz.peak_bytes(size, f, r, g, years)
    assert all(d.backups <= sz.backups_kept(f, r) for d in series)


def test_series_growth_compounds_per_year() -> None:
    series = sz.occupancy_series(GB, 12, 7, 100, 2, START)
    assert sz.backup_size_on_day(GB, 100, 365) == 2 * GB
    assert sz.backup_size_on_day(GB, 100, 730) == 4 * GB
    assert all(a.bytes <= b.bytes for a, b in itertools.pairwise(series))
    assert series[-1].date == START + dt.timedelta(days=729)


def test_deterministic() -> None:
    a = sz.plan(sz.SizingInputs(start=START, growth_pct_per_year=12.5, years=3,
                                share_capacity_gb=380)).to_dict()
    b = sz.plan(sz.SizingInputs(start=START, growth_pct_per_year=12.5, years=3,
                                share_capacity_gb=380)).to_dict()
    assert a == b
    for key in ("perBackupBytes", "backupsKept", "requiredBytes", "peakBytes", "onDemandPeakBytes",
                "table", "inputs", "headroomBytes", "runsOutOn", "occupancy"):
        assert key in a
    assert a["runsOutOn"] is not None and a["headroomBytes"] < 0


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"frequency_hours": 3}, ["4", "12"]), ({"frequency_hours": 13}, ["4", "12"]),
    ({"retention_days": 1}, ["2", "14"]), ({"retention_days": 15}, ["2", "14"]),
    ({"growth_pct_per_year": -1}, ["0", "1000"]), ({"growth_pct_per_year": 1001}, ["0", "1000"]),
    ({"growth_pct_per_year": float("nan")}, ["0", "1000"]),
    ({"years": 0}, ["1", "10"]), ({"years": 11}, ["1", "10"]),
    ({"share_capacity_gb": 0}, ["greater than 0"]),
    ({"env": None, "backup_size_gb": 0}, ["greater than 0"]),
    ({"env": None, "backup_size_gb": -5}, ["greater than 0"]),
    ({"env": "nope"}, ["asdk", "4-16-aad"]),
    ({"backup_size_gb": 5}, ["not both"]),
])
def test_bounds(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(BadInput) as exc:
        sz.SizingInputs(start=START, **kwargs)
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg
