"""The fuzzing machine's parts: crash points, liveness after healing, the reach table, and
``ibs fuzz``'s replayable seed ranges."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine import layout
from ibs.engine.cli import main
from ibs.scenarios.fuzz import HubMachine
from ibs.scenarios.fuzz_reach import REACH, ROWS, Reach
from ibs.simulator import actions
from ibs.simulator.crashpoints import PHASES
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile
from ibs.simulator.scale import GB

HOUR = 3600


def _hub(seed: int = 3) -> Hub:
    return Hub(HubConfig(HubProfile(nodes=4), seed=seed, frequency_hours=4, retention_days=2,
                         share_capacity_bytes=10_000 * GB))


@settings(max_examples=len(PHASES) * 2, deadline=None)
@given(phase=st.sampled_from(PHASES), seed=st.integers(0, 50))
def test_an_armed_crash_strikes_in_its_phase_and_the_next_backup_succeeds(phase, seed):
    with _hub(seed) as hub:
        hub.run_for(3 * 24 * HOUR)  # backups past retention, so the next job prunes
        hub.crash_points.arm(phase)
        for _ in range(8 * 60):  # until it strikes: a later job would prune what it left
            hub.run_for(60)
            if hub.crash_points.fired:
                break
        assert hub.crash_points.fired == [phase]
        crashed = [e for e in hub.log.entries if e["event"] == "controller crashed"]
        assert crashed and crashed[-1]["id"] is not None, "the crash did not kill a running job"
        struck, job = crashed[-1]["t"], crashed[-1]["id"]
        assert _left_on_share(hub, job) == LEFT[phase]
        hub.run_for(8 * HOUR)
        after = [e for e in hub.log.of("backup finished")
                 if e["t"] > struck and e["status"] == "Succeeded"]
        assert after, f"no backup succeeded after a crash in phase {phase}"


# What a crash in each phase leaves of the job's own folder: (partial folder there, bytes in its
# role files, manifest written, renamed into place). Prune runs before the write (expired
# backups) when the job has written nothing yet.
LEFT = {"snapshot": (False, False, False, False), "first chunk": (True, False, False, False),
        "mid-transfer": (True, True, False, False), "manifest": (True, True, False, False),
        "rename": (True, True, True, False), "prune": (False, False, False, False)}


def _left_on_share(hub: Hub, job: str) -> tuple[bool, bool, bool, bool]:
    root = f"{hub.storage_root()}/{layout.ROOT}"
    partial = f"{hub.storage_root()}/{layout.partial_dir(job)}"
    files = {p: len(b) for p, b in hub.storage.files.items() if p.startswith(partial + "/")}
    return (partial in hub.storage.dirs or bool(files),
            sum(n for p, n in files.items() if p.endswith(".ibsr")) > 0,
            f"{partial}/{layout.MANIFEST}" in files,
            any(d.startswith(f"{root}/{job}") for d in hub.storage.dirs))


def test_lowering_retention_while_a_job_runs_keeps_the_job_whole():
    """The live job's partial folder is no leftover: lowering retention under it must not
    delete it (it did: Controller.prune skipped the job slot its own job held)."""
    with _hub() as hub:
        actions.operator_configure(hub, retention_days=5)
        hub.run_for(2 * 24 * HOUR)
        actions.request_backup(hub)
        while hub.running_job is None or hub.running_job.progress is None:
            hub.run_for(30)
        job = hub.running_job.record.id
        actions.operator_configure(hub, retention_days=2)
        hub.run_for(4 * HOUR)
        record = next(r for r in hub.ctl.backups() if r.id == job)
        assert record.status == "Succeeded", record.error


@pytest.mark.parametrize("fault", ["block_445", "dns", "password", "ercs", "scheduler_off"])
def test_liveness_heals_every_fault_and_a_backup_succeeds(fault):
    machine = HubMachine()
    try:
        machine.start(nodes=4, seed=5, frequency=4, retention=2, capacity_gb=10_000,
                      swarm=frozenset())
        hub = machine.live
        {"block_445": lambda: actions.block_port_445(hub, "drop"),
         "dns": lambda: actions.break_name_resolution(hub),
         "password": lambda: actions.server_set_password(hub, "changed-on-the-server"),
         "ercs": lambda: (actions.fail_ercs(hub, "ERCS01"), actions.fail_ercs(hub, "ERCS02")),
         "scheduler_off": lambda: actions.operator_configure(hub, scheduler=False)}[fault]()
        machine.advance(30)
        machine.heal_and_check_liveness()  # raises if no backup succeeded within two periods
        assert any(e["status"] == "Succeeded" for e in hub.log.of("backup finished")
                   if e["t"] > 30 * HOUR)
    finally:
        machine.teardown()


def test_the_reach_table_names_every_row_missed():
    reach = Reach({"newest backup tampered": 2, "not a row": 5})
    reach.sometimes("crash in phase: rename")
    reach.sometimes("crash in phase: prune", False)
    assert reach.missed() == [r for r in ROWS if r not in ("newest backup tampered",
                                                           "crash in phase: rename")]
    table = reach.table()
    assert re.search(r"crash in phase: prune +MISSED", table)
    assert re.search(r"newest backup tampered +2", table)
    with pytest.raises(KeyError):
        reach.sometimes("a row nobody declared")


def _fuzz(capsys, *argv: str) -> tuple[int, str]:
    REACH.reset()
    code = main(["fuzz", *argv])
    return code, capsys.readouterr().out


def test_a_printed_seed_range_replays_to_the_same_outcome(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out = _fuzz(capsys, "--minutes", "0.05", "--seed", "7", "--steps", "8")
    assert code == 0
    replay = re.search(r"^replay: ibs (fuzz .*)$", out, re.MULTILINE)
    assert replay, out
    first_table = out[:out.index("programs ran")]
    again_code, again = _fuzz(capsys, *replay.group(1).split()[1:])
    assert again_code == code
    assert again[:again.index("programs ran")] == first_table
    assert re.search(r"seeds 7\.\.\d+", again)


def test_a_crash_at_prune_strikes_even_when_no_backup_has_expired():
    """A young hub has nothing to prune: the rule leaves a crashed job's folder behind, and the
    controller dies deleting it."""
    machine = HubMachine()
    try:
        machine.start(nodes=4, seed=11, frequency=12, retention=4, capacity_gb=10_000,
                      swarm=frozenset({"crash_at"}))
        hub = machine.live
        machine.advance(1)
        machine.crash_at("prune")
        assert hub.crash_points.fired[-1] == "prune"
        assert machine.reach.counts["crash in phase: prune"] >= 1
        machine.advance(13)
        assert hub.log.of("backup finished")[-1]["status"] == "Succeeded"
        assert machine.problems == []
    finally:
        machine.teardown()
