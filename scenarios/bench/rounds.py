"""How the engine benchmarks take their figures: a child process timed with its peak RSS and CPU
seconds (``measured``); the engine's backup and restore run that way (``EngineRuns``); a warm-up,
then rounds that take the contenders in turn (``interleaved``); the median and spread of the
rounds. Shared by the big-file case (engine_bench.py), the small-files case (small_files.py)
and ``ibs bench smb`` (smb_bench.py).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibs.scenarios.bench.common import Steps

ROLE = "SRP"
ROUNDS = 3  # measured rounds per contender, after one warm-up; the median counts


def _ibs_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@dataclass
class Kept:
    """What one round leaves for the next: the latest engine backup (which that round's restore
    reads), the latest restic repository, and whether the warm-up restores matched the source."""
    share: Path | None = None
    store: Path | None = None
    line: dict[str, Any] = field(default_factory=dict)
    repo: Path | None = None
    engine_same: bool | None = None
    restic_same: bool | None = None

    def backed_up(self, share: Path, store: Path, line: dict[str, Any]) -> None:
        """Keep this backup, removing the one before it (one share on disk at a time)."""
        if self.share is not None:
            shutil.rmtree(self.share)
        self.share, self.store, self.line = share, store, line

    def latest(self) -> tuple[Path, dict[str, Any]]:
        """The store and JSON line of the latest backup; a restore before any backup is a bug."""
        if self.store is None:
            raise RuntimeError("engine bench: a restore ran before any backup")
        return self.store, self.line

    def latest_share(self) -> Path:
        if self.share is None:
            raise RuntimeError("engine bench: no backup share to remove (no backup ran)")
        return self.share

    def latest_repo(self) -> Path:
        if self.repo is None:
            raise RuntimeError("engine bench: a restic restore ran before any restic backup")
        return self.repo


class EngineRuns:
    """A configured store per run: a fresh share folder, the certificate, one role."""

    def __init__(self, work: Path, cer: bytes) -> None:
        self.work = work
        self.cer = cer
        self.n = 0

    def configure(self, source: Path, share_path: str, **share_args) -> Path:
        from ibs.engine.clock import SystemClock
        from ibs.engine.controller import Controller
        from ibs.engine.store import Store

        self.n += 1
        store = self.work / f"store{self.n}"
        ctl = Controller(Store(str(store)), SystemClock())
        ctl.configure(path=share_path, cert=self.cer, sources={ROLE: str(source)}, **share_args)
        return store

    def backup(self, store: Path, profile: str | None = None) -> tuple[dict, float]:
        """Run the backup in a child; return its JSON line (with ``wall``, the child's whole
        run) and its peak RSS in MB."""
        env = _ibs_env()
        if profile:
            env["IBS_BENCH_PROFILE"] = profile
        wall, rss, out, cpu = measured([_python(), "-m", "ibs.scenarios.bench.worker", str(store)],
                                       env, "engine backup")
        line = json.loads(out.strip().splitlines()[-1])
        line.update(wall=wall, cpu=cpu)
        return line, rss

    def restore(self, store: Path, backup_id: str, pfx: Path, password: str,
                target: Path) -> tuple[float, float, float]:
        """Restore in a child (``python -m ibs.scenarios.bench.engine_bench restore``); return the
        seconds it measured around ``Controller.restore``, its peak RSS in MB and the CPU
        seconds of the whole child."""
        env = dict(_ibs_env(), IBS_BENCH_PFX=str(pfx), IBS_BENCH_PFX_PASSWORD=password)
        _wall, rss, out, cpu = measured([_python(), "-m", "ibs.scenarios.bench.engine_bench",
                                         "restore", str(store), backup_id, str(target)], env,
                                        "engine restore")
        return json.loads(out.strip().splitlines()[-1])["seconds"], rss, cpu


def measured(cmd: list[str], env: dict[str, str],
              what: str) -> tuple[float, float, str, float]:
    """Run ``cmd`` to completion: its wall seconds, its peak RSS in MB, its stdout and its CPU
    seconds (user + system, with its children's).

    The peak comes from GNU time (``%M``), not from this process's os.wait4: Linux carries a
    process's high-water RSS across exec, so a child forked from this bench (tens of MB) and
    then exec'ing restic would report the bench's own RSS as restic's. GNU time is small, and
    its child starts from its own few MB. Output goes through files, so neither pipe can fill
    and stall the child while it is timed.
    """
    time_exe = gnu_time()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as peak:
        argv = [time_exe, "-f", "%M", "-o", peak.name, *cmd] if time_exe else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed ({proc.returncode}): {stdout} "
                               f"{err.read().decode(errors='replace')}")
        kib = int(peak.read().split()[-1]) if time_exe else usage.ru_maxrss
    return wall, kib * 1024 / 1e6, stdout, usage.ru_utime + usage.ru_stime


def gnu_time() -> str | None:
    """GNU time (Debian package ``time``); ``bash``'s builtin has no ``-f``."""
    path = shutil.which("time")
    return path if path and os.path.basename(os.path.realpath(path)) == "time" else None


def _python() -> str:
    return sys.executable


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def rounds_of(steps: Steps, what: str, run: Callable[[str], float],
              rounds: int = ROUNDS) -> list[float]:
    """One warm-up (discarded), then ``rounds`` measured runs of ``run(tag) -> seconds``."""
    with steps.step(f"{what} (warm-up)") as shown:
        shown.measured = run("warm")
    times = []
    for i in range(rounds):
        with steps.step(f"{what} (round {i + 1}/{rounds})") as shown:
            shown.measured = took = run(f"r{i}")
        times.append(took)
    return times


def interleaved(steps: Steps, runs: dict[str, Callable[[str], float]],
                rounds: int = ROUNDS) -> dict[str, list[float]]:
    """A warm-up of each contender, then ``rounds`` rounds taking each in turn: load, or a file
    system's state, that drifts during the run weighs on every contender alike."""
    for what, run in runs.items():
        with steps.step(f"{what} (warm-up)") as shown:
            shown.measured = run("warm")
    times: dict[str, list[float]] = {what: [] for what in runs}
    for i in range(rounds):
        for what, run in runs.items():
            with steps.step(f"{what} (round {i + 1}/{rounds})") as shown:
                shown.measured = took = run(f"r{i}")
            times[what].append(took)
    return times


def median(times: list[float]) -> float:
    return statistics.median(times)


def spread(times: list[float]) -> str:
    return (f"min/median/max {min(times):.3f}/{statistics.median(times):.3f}/{max(times):.3f} s "
            f"over {len(times)} rounds")


def cpu_note(seconds: list[float], whose: str = "whole process") -> str:
    """CPU of the whole process (user + system), which a loaded machine inflates less than
    wall time."""
    return f"CPU median {median(seconds):.2f} s ({whose})"


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the figures."""
    return [round(x, 2) for x in os.getloadavg()]
