"""``ibs sizing --sweep``: a grid cross-checked by simulation, the same rows serial, on a local
cluster and on an external scheduler."""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.simulator.sweep import Grid

from .conftest import ibs

GRID = ("sizing", "--sweep", "--start-date", "2026-01-01", "--days", "20",
        "--hubs", "asdk,4-16-aad", "--retentions", "2,7", "--share-gbs", "peak,30")


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    where = tmp_path_factory.mktemp("sweep")
    r = ibs(*GRID, "--format", "json", cwd=where)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_every_point_is_planned_and_simulated_in_grid_order(serial):
    data = json.loads(serial)
    assert (data["points"], data["agree"], data["disagree"]) == (8, 8, 0)
    keys = [(r["env"], r["retentionDays"], r["shareGb"]) for r in data["rows"]]
    assert keys == list(itertools.product(("asdk", "4-16-aad"), (2, 7), (None, 30.0)))
    for r in data["rows"]:
        assert r["simulatedPeakBytes"] <= r["sizingPeakBytes"]
        if r["shareGb"] is None:  # a share of exactly the peak never fills
            assert r["sizingRunsOutOn"] is None and r["simulatedRunsOutOn"] is None
            assert r["shareCapacityBytes"] == r["sizingPeakBytes"]
    # asdk keeps 10 GB a backup: two a day for 7 days cannot fit 30 GB, and both sides say when.
    full = next(r for r in data["rows"] if (r["env"], r["retentionDays"], r["shareGb"])
                == ("asdk", 7, 30.0))
    assert full["sizingRunsOutOn"] is not None and full["simulatedRunsOutOn"] is not None


def test_a_local_cluster_gives_the_serial_rows_and_csv_has_one_line_a_point(serial, tmp_path):
    r = ibs(*GRID, "--format", "json", "--jobs", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == serial
    assert "sweep points: 8 done, 0 failed, 0 running" in r.stderr
    r = ibs(*GRID, "--format", "csv", "--jobs", "2", "--out", "sweep.csv", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sweep.csv").read_text())))
    assert [(x["env"], x["agree"]) for x in rows] == [
        (r["env"], str(r["agree"])) for r in json.loads(serial)["rows"]]


def test_an_external_scheduler_gives_the_serial_rows(external, serial, tmp_path):
    r = ibs(*GRID, "--format", "json", "--cluster", external.address, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == serial


@pytest.mark.parametrize(("args", "message"), [
    (("--frequencies", "4,x"), "--frequencies 4,x: 'x' is not a int"),
    (("--frequencies", "3"), "frequency"),
    (("--retentions", "7,7"), "distinct"),
    (("--check",), "--check does not go with --sweep"),
    (("--format", "html"), "not html"),
])
def test_a_bad_grid_is_one_line_and_exit_2_before_anything_runs(tmp_path, args, message):
    r = ibs("sizing", "--sweep", "--days", "20", *args, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "sweep points" not in r.stderr


axis = st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True)


@given(envs=axis, frequencies=axis, retentions=axis, growths=axis, shares=axis)
def test_the_grid_is_the_product_of_its_axes_in_order(envs, frequencies, retentions, growths,
                                                      shares):
    grid = Grid(tuple(map(str, envs)), tuple(frequencies), tuple(retentions),
                tuple(map(float, growths)), tuple(map(float, shares)))
    points = grid.points()
    assert [tuple(vars(p).values()) for p in points] == list(itertools.product(
        grid.envs, grid.frequencies, grid.retentions, grid.growths, grid.shares))
