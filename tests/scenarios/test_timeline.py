"""The runner plays a scenario's timeline from one SimPy process, in the order and at the
virtual times of the file: by time, then as written; before whatever the hub does then."""

from __future__ import annotations

import simpy
from simpy.events import Process

from ibs.scenarios.loader import loads
from ibs.scenarios.runner import run_scenario

HEAD = '[scenario]\nname = "t"\nhub = 4\n'


def timeline(days: float, *events: str) -> str:
    return HEAD + f"days = {days}\n" + "".join(
        "\n[[events]]\n" + "\n".join(e.split("; ")) + "\n" for e in events)


def logged(text: str, since: float = 0) -> list[tuple[float, str]]:
    result = run_scenario(loads(text))
    assert result.error is None, result.error
    return [(e["t"], e["event"]) for e in result.events if e["t"] >= since]


def processes_started(text: str, monkeypatch) -> int:  # noqa: ANN001
    count = 0
    init = Process.__init__

    def counting(self, env: simpy.Environment, generator) -> None:  # noqa: ANN001
        nonlocal count
        count += 1
        init(self, env, generator)

    with monkeypatch.context() as patch:
        patch.setattr(Process, "__init__", counting)
        assert run_scenario(loads(text)).error is None
    return count


def test_the_timeline_is_one_process_however_many_events(monkeypatch):
    def flapping(n: int) -> str:  # DNS fails and comes back every minute, before any backup
        return timeline(0.1, *(f'at = "{i + 1}m"; do = "{("dns_fail", "dns_restore")[i % 2]}"'
                               for i in range(n)))

    assert processes_started(flapping(40), monkeypatch) == processes_started(flapping(2), monkeypatch)


def test_events_at_one_instant_play_as_written_even_out_of_time_order():
    text = timeline(0.1, 'at = "1h"; do = "dns_fail"', 'at = "30m"; do = "dns_fail"',
                    'at = "1h"; do = "dns_restore"', 'at = "1h"; do = "fill_share"; free_gb = 5',
                    'at = "1h"; do = "free_share"')
    assert logged(text) == [(1800.0, "name resolution failing"), (3600.0, "name resolution failing"),
                            (3600.0, "name resolution restored"), (3600.0, "share filled"),
                            (3600.0, "share space freed")]


def test_events_due_with_a_scheduled_backup_come_before_it():
    # The backup due at 12:00 meets the maintenance window that starts at 12:00, although the
    # timeline had waited since 6:00 for it.
    text = timeline(0.6, 'at = "6h"; do = "dns_fail"', 'at = "12h"; do = "dns_restore"',
                    'at = "12h"; do = "maintenance"; hours = 1')
    assert logged(text, since=12 * 3600) == [(43200.0, "name resolution restored"),
                                             (43200.0, "maintenance window"),
                                             (43200.0, "backup skipped")]


def test_an_on_demand_backup_does_not_hold_back_the_events_after_it():
    text = timeline(0.1, 'at = "1h"; do = "backup"', 'at = "1h"; do = "dns_fail"',
                    'at = "3601s"; do = "dns_restore"')
    log = logged(text)
    assert log[:3] == [(3600.0, "backup started"), (3600.0, "name resolution failing"),
                       (3601.0, "name resolution restored")]
    assert log[3][1] == "backup finished" and log[3][0] > 3601
