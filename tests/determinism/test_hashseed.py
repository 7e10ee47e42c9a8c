"""The same seed gives the same run in two interpreters whose str hashes differ (PYTHONHASHSEED):
a set of names iterated into a decision or an event would show here, and nowhere in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ibs.scenarios.determinism import compare

PROBE = Path(__file__).with_name("hashseed_probe.py")


def _records(hashseed: int, *flags: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": str(hashseed)}
    done = subprocess.run([sys.executable, str(PROBE), *flags], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def _mismatches(a: dict, b: dict) -> dict:
    return {name: compare((a[name]["events"], a[name]["files"]), (b[name]["events"], b[name]["files"]))
            for name in a}


def test_two_hash_seeds_give_the_same_runs():
    first, second = _records(1), _records(2)
    assert first["scenario"]["events"] and first["fuzz"]["files"]
    assert _mismatches(first, second) == {"scenario": None, "fuzz": None}


def test_a_set_order_in_an_event_is_named():
    first, second = _records(1, "--plant"), _records(2, "--plant")
    found = _mismatches(first, second)
    assert found["scenario"] is not None and found["scenario"].where == "event 0"
    assert found["fuzz"] is not None and found["fuzz"].where == "event 0"
