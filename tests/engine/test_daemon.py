"""The scheduler loop: backups at every frequency step, on a manual clock and for real."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

from ibs.engine.daemon import serve
from tests.engine.conftest import T0


def test_a_day_at_four_hours_gives_six_scheduled_backups(rig):
    rig.ctl.configure(frequency_hours=4)  # the schedule restarts from now
    lines: list[str] = []
    end = T0 + dt.timedelta(days=1, minutes=1)
    serve(rig.ctl, lambda: rig.clock.now() >= end, lines.append)
    records = rig.ctl.backups()
    assert [r.trigger for r in records] == ["Scheduled"] * 6
    assert all(r.status == "Succeeded" for r in records)
    created = [r.createdDateTime[11:16] for r in records]
    assert created == ["12:00", "16:00", "20:00", "00:00", "04:00", "08:00"]
    assert len(lines) == 6 and all("Succeeded" in line for line in lines)


def test_scheduled_backups_are_skipped_during_an_update(rig):
    ctl = rig.new_controller(maintenance=lambda: "an update")
    end = T0 + dt.timedelta(hours=25)
    serve(ctl, lambda: rig.clock.now() >= end, lambda line: None)
    assert [r.status for r in ctl.backups()] == ["Skipped", "Skipped"]


def test_daemon_process_stops_cleanly_on_sigterm(rig):
    ibs = str(Path(sys.executable).parent / "ibs")
    proc = subprocess.Popen([ibs, "--store", rig.ctl.store.root, "daemon"],
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("ibs daemon: store")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        proc.kill() if proc.poll() is None else None
