"""Schedule semantics, at exact virtual times (docs/SCHEDULE.md; issue 10, items 8-9)."""

from __future__ import annotations

from ibs.scenarios.loader import loads
from ibs.scenarios.runner import run_scenario
from ibs.scenarios.strategies import overlapping_backups
from ibs.simulator import actions
from ibs.simulator.network import Link
from tests.simulator.conftest import at

H = 3600


def starts(hub) -> list[float]:
    return [e["t"] / H for e in hub.log.of("backup started")]


def test_a_shorter_frequency_keeps_the_slot_already_due(make_hub):
    hub = make_hub(4)
    at(hub, 21, lambda h: actions.operator_configure(h, frequency_hours=4))
    hub.run(2.02)
    # 12:00, then the pending 24:00 slot (not 01:00, 13 h after the last), then every 4 h.
    assert starts(hub) == [12, 24, 28, 32, 36, 40, 44, 48]


def test_a_longer_frequency_keeps_the_slot_already_due(make_hub):
    hub = make_hub(4, frequency_hours=4)
    at(hub, 5, lambda h: actions.operator_configure(h, frequency_hours=12))
    hub.run(2.02)
    assert starts(hub) == [4, 8, 20, 32, 44]


def test_re_enabling_the_scheduler_resumes_its_rhythm(make_hub):
    hub = make_hub(4, frequency_hours=8)
    at(hub, 9, lambda h: actions.operator_configure(h, scheduler=False))
    at(hub, 25, lambda h: actions.operator_configure(h, scheduler=True))
    hub.run(2.02)
    # Off from 9 h to 25 h: 16 h and 24 h pass; back on, the next slot of the rhythm is 32 h.
    assert starts(hub) == [8, 32, 40, 48]


def test_an_on_demand_backup_does_not_move_the_schedule(make_hub):
    hub = make_hub(4)
    at(hub, 3, lambda h: actions.request_backup(h))
    hub.run(1.02)
    assert starts(hub) == [3, 12, 24]


def test_a_job_that_overruns_its_slot_skips_it_and_warns(make_hub):
    # 20 GB at 1 MB/s: 20 min of snapshots, then 5 h 33 min on the link; every 4 h.
    hub = make_hub(4, frequency_hours=4, link=Link(bytes_per_second=1e6))
    hub.run(1.02)
    records = hub.ctl.backups()
    assert [r.status for r in records][:4] == ["Succeeded", "Skipped", "Succeeded", "Skipped"]
    assert [r.createdDateTime[11:16] for r in records][:4] == ["04:00", "08:00", "12:00", "16:00"]
    assert "was still running" in records[1].warnings[0]
    assert "schedule cannot keep up" in records[0].warnings[0]
    assert starts(hub) == [4, 12, 20]  # never back to back
    skipped = hub.log.of("backup skipped")
    assert [e["scheduledFor"][11:16] for e in skipped] == ["08:00", "16:00"]


def test_a_job_killed_by_its_ercs_vm_does_not_overlap_the_next():
    scenario = loads('''
[scenario]
name = "ercs failure mid-job"
hub = 4
days = 1.02
[[events]]
at = "12h10m"
do = "ercs_fail"
vm = "ERCS01"
''')
    result = run_scenario(scenario)
    interrupted = [b for b in result.backups if b["status"] == "Failed"]
    # It ends at the first step after its VM failed (the snapshots take 20 min), not never.
    assert interrupted and 12 * H + 600 <= interrupted[0]["finishedAt"] < 12 * H + 1300
    assert overlapping_backups(result) == []
