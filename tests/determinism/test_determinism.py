"""The determinism check (scenarios/determinism.py) on a sample of the library and of fuzz programs,
and on nondeterminism planted where it hides in practice: the wall clock, a counter that outlives
a run, the engine's own entropy."""

from __future__ import annotations

import itertools
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.scenarios import determinism
from ibs.scenarios.cli import LIBRARY
from ibs.scenarios.determinism import check, compare, digest, fuzz_run, scenario_run
from ibs.scenarios.fuzz import HubMachine, WireHubMachine
from ibs.scenarios.loader import load
from ibs.simulator.events import EventLog

#: A fixed sample: the same scenarios every run, so a CI verdict replays anywhere.
SAMPLE = random.Random(15).sample(sorted(p.name for p in LIBRARY.glob("*.toml")), 4)
WIRE = "scheduling_on_demand.toml"  # short, and it writes and prunes backups over SMB


def _scenario(name: str, fidelity: str = "sim"):
    return load(str(LIBRARY / name)).with_overrides(fidelity=fidelity)


@pytest.mark.parametrize("name", SAMPLE)
def test_library_sample_runs_the_same_twice(name):
    run = scenario_run(_scenario(name))
    verdict = check(run)
    assert verdict.same, verdict.mismatch
    events, files = run()
    assert any(e["event"] == "backup started" for e in events)
    assert any(p.startswith("share/") for p in files) and any(p.startswith("store/") for p in files)


def test_a_wire_scenario_runs_the_same_twice():
    verdict = check(scenario_run(_scenario(WIRE, "wire")))
    assert verdict.same, verdict.mismatch


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fuzz_programs_run_the_same_twice(seed):
    run = fuzz_run(HubMachine, seed, programs=3, steps=12)
    verdict = check(run)
    assert verdict.same, verdict.mismatch
    _events, files = run()
    # Every program leaves its store (a program whose rules moved no time logs no event).
    ran = {int(path.split("/")[0].split()[1]) for path in files}
    assert ran >= {0, 1, 2}, "the campaign recorded fewer programs than it ran"


def test_wire_fuzz_programs_run_the_same_twice():
    verdict = check(fuzz_run(WireHubMachine, 0, programs=3, steps=10))
    assert verdict.same, verdict.mismatch


def test_the_wall_clock_in_an_event_is_named(monkeypatch):
    scenario = _scenario("scheduling_on_demand.toml")
    events, _ = scenario_run(scenario)()
    first = next(i for i, e in enumerate(events) if e["event"] == "backup finished")
    real_add = EventLog.add

    def leaky(self, now, event, **fields):
        if event == "backup finished":
            fields["took"] = time.perf_counter_ns()
        real_add(self, now, event, **fields)

    monkeypatch.setattr(EventLog, "add", leaky)
    verdict = check(scenario_run(scenario))
    assert verdict.mismatch is not None and verdict.mismatch.where == f"event {first}"
    assert '"backup finished"' in verdict.mismatch.first and '"backup finished"' in verdict.mismatch.second
    assert verdict.digests[0] != verdict.digests[1]


def test_state_that_outlives_a_fuzz_program_is_named(monkeypatch):
    counter = itertools.count()  # a module-level cache, say, that the next run starts from
    real_add = EventLog.add

    def counting(self, now, event, **fields):
        real_add(self, now, event, n=next(counter), **fields)

    monkeypatch.setattr(EventLog, "add", counting)
    verdict = check(fuzz_run(HubMachine, 0, programs=2, steps=6))
    assert verdict.mismatch is not None and verdict.mismatch.where == "event 0"
    assert '"n": 0' in verdict.mismatch.first  # the first event the campaign logged
    assert '"n": 0' not in verdict.mismatch.second


def test_the_engine_entropy_differs_only_in_files(monkeypatch):
    """Without the pinned entropy every backup's ciphertext is new, and the check says which file
    differs first; the events agree, so no decision hangs on those bytes."""
    import contextlib

    monkeypatch.setattr(determinism, "pinned_entropy", lambda seed: contextlib.nullcontext())
    verdict = check(scenario_run(_scenario("scheduling_on_demand.toml")))
    assert verdict.mismatch is not None
    assert verdict.mismatch.where.startswith("file share/"), verdict.mismatch


def test_pinned_backups_still_recover():
    """The pinned key wrap is real RSA-OAEP: the library's recovery scenario passes under it."""
    from ibs.scenarios.runner import run_scenario

    with determinism.pinned_entropy(3):
        result = run_scenario(_scenario("recovery_full_and_role.toml"))
    assert result.passed, [c for c in result.checks if not c["passed"]]
    assert result.recoveries and all(r["outcome"] == "passed" for r in result.recoveries.values())


_values = st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans())
_events = st.lists(st.dictionaries(st.sampled_from("abc"), _values, max_size=3), max_size=8)
_files = st.dictionaries(st.sampled_from(["share/a", "share/b/", "store/c"]), st.binary(max_size=8))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(events=_events, files=_files, data=st.data())
def test_compare_names_the_first_change(events, files, data):
    same = (list(events), dict(files))
    assert compare((events, files), same) is None and digest((events, files)) == digest(same)
    if events:
        i = data.draw(st.integers(0, len(events) - 1))
        j = data.draw(st.integers(i, len(events) - 1))
        changed = [dict(e) for e in events]
        changed[i]["changed"] = True
        changed[j]["changed"] = True
        mismatch = compare((events, files), (changed, files))
        assert mismatch is not None and mismatch.where == f"event {i}"
        assert digest((events, files)) != digest((changed, files))
        shorter = compare((events, files), (events[:i], files))
        assert shorter is not None and shorter.where == f"event {i}" and "no event" in shorter.second
    if files:
        path = data.draw(st.sampled_from(sorted(files)))
        other = {**files, path: files[path] + b"!"}
        mismatch = compare((events, files), (events, other))
        assert mismatch is not None and mismatch.where == f"file {path}"
        assert f"{len(files[path])} bytes" in mismatch.first
