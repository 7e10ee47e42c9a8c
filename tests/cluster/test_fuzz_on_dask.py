"""``ibs fuzz --batches`` serial and on Dask: the same campaign, failures with their replay line."""

from __future__ import annotations

import pytest

from ibs.scenarios.tasks import fuzz_batch
from ibs.simulator.cluster import run_all

from .conftest import ibs

BROKEN = "tests.cluster.broken_machine:BrokenMachine"


def test_a_broken_invariant_comes_back_with_its_program_and_replay_line():
    found = fuzz_batch(11, "sim", 10, 25, None, machine=BROKEN)
    assert "counted three times" in found["failure"]
    assert found["program"].count("count()") == 3  # shrunk to the three calls that break it
    assert found["replay"] == "ibs fuzz --seed 11 --batches 1 --fidelity sim --steps 10"


def test_a_campaign_on_a_local_cluster_brings_every_failure_home_in_seed_order():
    calls = [(seed, "sim", 10, 5, None, BROKEN) for seed in (3, 4, 5)]
    on_dask = run_all(fuzz_batch, calls, jobs=2, address=None, label="fuzz batches")
    assert [r["seed"] for r in on_dask] == [3, 4, 5]
    assert all("counted three times" in r["failure"] and r["replay"] for r in on_dask)
    assert on_dask == [fuzz_batch(*c) for c in calls]


def test_the_cli_campaign_on_a_local_cluster_says_what_a_serial_one_says(tmp_path):
    args = ("fuzz", "--seed", "40", "--batches", "3", "--steps", "6", "--db", "db")
    serial = ibs(*args, cwd=tmp_path)
    parallel = ibs(*args, "--jobs", "2", cwd=tmp_path)
    assert serial.returncode == parallel.returncode == 0, serial.stderr + parallel.stderr
    assert serial.stdout == parallel.stdout
    assert serial.stdout.endswith(
        "30 programs ran (sim fidelity, seeds 40..42, 10 programs a seed); every invariant "
        "held\nreplay: ibs fuzz --seed 40 --batches 3 --fidelity sim --steps 6\n")
    assert "fuzz batches: 3 done, 0 failed, 0 running" in parallel.stderr


@pytest.mark.parametrize("extra", [("--jobs", "2"), ("--cluster", "tcp://127.0.0.1:9")])
def test_a_cluster_campaign_needs_a_number_of_batches(tmp_path, extra):
    r = ibs("fuzz", *extra, cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "need --batches N" in r.stderr


def test_an_external_scheduler_runs_the_same_campaign(external, tmp_path):
    args = ("fuzz", "--seed", "40", "--batches", "3", "--steps", "6")
    serial = ibs(*args, cwd=tmp_path)
    remote = ibs(*args, "--cluster", external.address, cwd=tmp_path)
    assert serial.returncode == remote.returncode == 0, serial.stderr + remote.stderr
    # Everything the same, the reach table too: a worker imports other modules than the CLI,
    # and hypothesis once drew from their constants (scenarios/fuzz_constants.py).
    assert remote.stdout == serial.stdout
