"""``ibs bench engine``: the engine's local backup and restore against cp+sync and restic."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibs.scenarios.bench.common import (
    Contender,
    Report,
    Steps,
    Target,
    random_tree,
    read_all,
    same_tree,
    small_files_tree,
    sync,
)

if TYPE_CHECKING:
    from rich.console import Console

ROLE = "SRP"
CP_RATIO = 0.8  # engine throughput over cp -r + sync (1 GiB of random data)
ROUNDS = 3  # measured rounds per contender, after one warm-up; the median counts
RSS_LIMIT_MB = 150.0
RSS_GROWTH = 1.25  # "about the same": the 4N peak within 25 % of the N peak

METHOD = (
    "Source: N MiB of random data in 4 files under /tmp, just written and then read once, so "
    "every contender starts from the same warm page cache (dropping the cache is not reliable "
    "here). Each contender runs once to warm up (discarded, into its own fresh destination) and "
    "is then measured ROUNDS times, each into a fresh destination; its figure is the median of "
    "those rounds (min/median/max are in its note), and ratios are ratios of medians. Engine "
    "backup, cp -r + sync and engine restore + sync take turns, round after round (the restore "
    "reads that round's backup), so load that drifts during the run weighs on each alike; "
    "restic and borg run after them. CPU seconds (user + system) beside each: the engine "
    "backup's whole child process, cp's process, and the bench process during its restore. "
    "The load averages at the start, before the small-files case and at the end are in the "
    "notes. Backup times include making everything durable: the engine's local "
    "share fsyncs each file on close, and `sync` is run after `cp -r` and after `restic backup`. "
    "The engine's backup runs in a subprocess (Controller, LocalShare, SystemClock, default chunk "
    "size, threads=True); its time is measured inside that process around `start_backup().run()` "
    "(no interpreter start-up), and its peak RSS is the child's maximum resident set size as GNU "
    "time (`time -f %M`) reports it (not os.wait4's: Linux keeps a process's high-water RSS "
    "across exec, so a child of this bench would report the bench's own RSS). "
    "restic: a fresh repository per run (init not timed, password from RESTIC_PASSWORD), "
    "`restic backup` to completion plus `sync`. borg: likewise a fresh repository per run "
    "(`borg init --encryption=repokey`, passphrase from BORG_PASSPHRASE, not timed), then "
    "`borg create` (default lz4 compression) plus `sync`; no target, a figure beside restic. Restore: `ctl.restore` with the PFX, then `sync`, "
    "vs `cp -r` of the source plus `sync`. Throughput = source bytes / seconds (MB = 10^6 bytes). "
    "Note: GNU cp copies with copy_file_range (an in-kernel copy, no user-space buffers), and "
    "on this kind of VM one measurement of cp + sync can vary about 2x from run to run. "
    "Small files (`--small-files N`, issue 12): N files of 1,024-4,096 random bytes (sizes "
    "seeded, contents random) in N/100 folders, synced and read once. Engine backup as above; "
    "engine restore in a child too (`python -m ibs.scenarios.bench.engine_bench restore`, timed "
    "inside it around `Controller.restore`) plus `sync`; restic: `restic backup` of the same "
    "folder into a fresh repository per round, and `restic restore latest --target` from the "
    "last one, each timed as a whole process plus `sync`. A warm-up of each, then the rounds "
    "taking engine and restic in turn (backups first, then restores), so drifting load weighs "
    "on both; restored trees are removed only after the last round (removing 100,000 files "
    "slows the creates that follow on some file systems). Peak RSS of every run by GNU time, "
    "the largest run counts; CPU seconds (whole process) beside the wall times. Targets: backup >= 2x restic, restore >= "
    "1.5x restic, peak RSS engine / restic <= 1 for each. The first warm-up restore of each is "
    "compared with the source, file by file."
)


def _ibs_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@dataclass
class _Kept:
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


class _Engine:
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
        wall, rss, out, cpu = _measured([_python(), "-m", "ibs.scenarios.bench.worker", str(store)],
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
        _wall, rss, out, cpu = _measured([_python(), "-m", "ibs.scenarios.bench.engine_bench",
                                          "restore", str(store), backup_id, str(target)], env,
                                         "engine restore")
        return json.loads(out.strip().splitlines()[-1])["seconds"], rss, cpu


def _measured(cmd: list[str], env: dict[str, str],
              what: str) -> tuple[float, float, str, float]:
    """Run ``cmd`` to completion: its wall seconds, its peak RSS in MB, its stdout and its CPU
    seconds (user + system, with its children's).

    The peak comes from GNU time (``%M``), not from this process's os.wait4: Linux carries a
    process's high-water RSS across exec, so a child forked from this bench (tens of MB) and
    then exec'ing restic would report the bench's own RSS as restic's. GNU time is small, and
    its child starts from its own few MB. Output goes through files, so neither pipe can fill
    and stall the child while it is timed.
    """
    gnu_time = _gnu_time()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as peak:
        argv = [gnu_time, "-f", "%M", "-o", peak.name, *cmd] if gnu_time else cmd
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
        kib = int(peak.read().split()[-1]) if gnu_time else usage.ru_maxrss
    return wall, kib * 1024 / 1e6, stdout, usage.ru_utime + usage.ru_stime


def _gnu_time() -> str | None:
    """GNU time (Debian package ``time``); ``bash``'s builtin has no ``-f``."""
    path = shutil.which("time")
    return path if path and os.path.basename(os.path.realpath(path)) == "time" else None


def _python() -> str:
    import sys

    return sys.executable


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _rounds(steps: Steps, what: str, run: Callable[[str], float],
            rounds: int = ROUNDS) -> list[float]:
    """One warm-up (discarded), then ``rounds`` measured runs of ``run(tag) -> seconds``."""
    with steps.step(f"{what} (warm-up)"):
        run("warm")
    times = []
    for i in range(rounds):
        with steps.step(f"{what} (round {i + 1}/{rounds})"):
            times.append(run(f"r{i}"))
    return times


def _interleaved(steps: Steps, runs: dict[str, Callable[[str], float]],
                 rounds: int = ROUNDS) -> dict[str, list[float]]:
    """A warm-up of each contender, then ``rounds`` rounds taking each in turn: load, or a file
    system's state, that drifts during the run weighs on every contender alike."""
    for what, run in runs.items():
        with steps.step(f"{what} (warm-up)"):
            run("warm")
    times: dict[str, list[float]] = {what: [] for what in runs}
    for i in range(rounds):
        for what, run in runs.items():
            with steps.step(f"{what} (round {i + 1}/{rounds})"):
                times[what].append(run(f"r{i}"))
    return times


def _median(times: list[float]) -> float:
    return statistics.median(times)


def _spread(times: list[float]) -> str:
    return (f"min/median/max {min(times):.3f}/{statistics.median(times):.3f}/{max(times):.3f} s "
            f"over {len(times)} rounds")


def _backup_tool(report: Report, steps: Steps, src: Path, nbytes: int, work: Path, label: str,
                 tool: str, *, env: dict[str, str], init, create, version: list[str],
                 package: str | None = None) -> None:
    """One backup program as a contender: a fresh repository each round (so nothing dedupes),
    its run timed with the sync after it; skipped with a note when it is not installed."""
    exe = shutil.which(tool)
    if exe is None:
        report.contenders.append(Contender(label, None, nbytes, f"{tool} not installed"))
        report.notes.append(f"{tool} not installed (Debian package {package or tool}): its "
                            "comparison was skipped")
        return
    full_env = dict(os.environ, **env)

    def run(tag: str) -> float:
        repo = str(work / f"{tool}-{tag}")
        subprocess.run(init(exe, repo), env=full_env, check=True, capture_output=True)

        def create_and_sync() -> None:
            subprocess.run(create(exe, repo), env=full_env, check=True, capture_output=True)
            sync()

        took = _timed(create_and_sync)
        shutil.rmtree(repo)
        return took

    times = _rounds(steps, label, run)
    shown = subprocess.run([exe, *version], check=False, capture_output=True,
                           text=True).stdout.strip()
    report.extra[f"{tool}_rounds"] = times
    report.contenders.append(Contender(label, _median(times), nbytes, f"{_spread(times)}; {shown}"))


def run_engine_bench(size_mib: int, console: Console, keep: bool = False,
                     small_files: int = 0) -> Report:
    """The large-file case of ``size_mib`` MiB, then (``small_files`` > 0) the small-files case."""
    from ibs.engine import certs
    from ibs.engine.clock import SystemClock
    from ibs.engine.controller import Controller
    from ibs.engine.store import Store

    steps = Steps(console)
    report = Report("engine", size_mib, METHOD)
    work = Path(tempfile.mkdtemp(prefix="ibs-bench-engine-"))  # $TMPDIR, default /tmp
    try:
        src = work / "src"
        with steps.step(f"writing {size_mib} MiB of random data"):
            nbytes = random_tree(src, size_mib)
            sync()
            read_all(src)
        pfx_password = secrets.token_urlsafe(12)
        cer, pfx = certs.new_certificate("IBS bench", pfx_password, now=SystemClock().now())
        key = certs.load_pfx(pfx, pfx_password)
        eng = _Engine(work, cer)

        # --- backup and restore, against cp, in interleaved rounds ---------------------------
        loads: dict[str, list[float]] = {"start": _load()}
        report.extra["load_average"] = loads  # filled in as the cases run
        kept = _Kept()
        rss_runs: list[float] = []
        cpu: dict[str, list[float]] = {"engine backup": [], "cp -r + sync": [],
                                       "engine restore + sync": []}
        same_all: list[bool] = []

        def engine_run(tag: str) -> float:
            share = work / f"share-{tag}"
            share.mkdir()
            store = eng.configure(src, str(share))
            line, rss = eng.backup(store)
            if tag != "warm":
                rss_runs.append(rss)
                cpu["engine backup"].append(line["cpu"])
            kept.backed_up(share, store, line)
            return line["seconds"]

        def cp_sync(tag: str) -> float:
            dst = work / f"cp-{tag}"
            took, _rss, _out, used = _measured(["cp", "-r", str(src), str(dst)], dict(os.environ),
                                               "cp -r")
            took += _timed(sync)
            if tag != "warm":
                cpu["cp -r + sync"].append(used)
            shutil.rmtree(dst)
            return took

        def restore(tag: str) -> float:
            target = work / f"restore-{tag}"
            store, line = kept.latest()
            ctl = Controller(Store(str(store)), SystemClock())
            used = time.process_time()  # this process's threads: only the restore runs now

            def restore_and_sync() -> None:
                ctl.restore(line["id"], key, str(target))
                sync()

            took = _timed(restore_and_sync)
            if tag != "warm":
                cpu["engine restore + sync"].append(time.process_time() - used)
            same_all.append(_same_tree(src, target / ROLE))
            shutil.rmtree(target)
            return took

        rounds = _interleaved(steps, {"engine backup": engine_run, "cp -r + sync": cp_sync,
                                      "engine restore + sync": restore})
        engine_times, cp_times = rounds["engine backup"], rounds["cp -r + sync"]
        restore_times = rounds["engine restore + sync"]
        line = kept.latest()[1]
        rss_n = max(rss_runs)
        report.contenders.append(Contender(
            "engine backup", _median(engine_times), nbytes,
            f"{_spread(engine_times)}; stored {line['sizeBytes']} bytes; peak RSS {rss_n:.0f} MB; "
            f"{_cpu(cpu['engine backup'])}"))
        report.contenders.append(Contender("cp -r + sync", _median(cp_times), nbytes,
                                           f"{_spread(cp_times)}; "
                                           + _cpu(cpu["cp -r + sync"],
                                                  "cp's process; sync's work is the kernel's")))
        shutil.rmtree(kept.latest_share())

        password = os.environ.get("RESTIC_PASSWORD") or secrets.token_urlsafe(16)
        _backup_tool(report, steps, src, nbytes, work, "restic backup + sync", "restic",
                     env={"RESTIC_PASSWORD": password,
                          "RESTIC_CACHE_DIR": str(work / "restic-cache")},
                     init=lambda exe, repo: [exe, "-r", repo, "init", "-q"],
                     create=lambda exe, repo: [exe, "-r", repo, "backup", "-q", str(src)],
                     version=["version"])
        _backup_tool(report, steps, src, nbytes, work, "borg create + sync", "borg",
                     env={"BORG_PASSPHRASE": secrets.token_urlsafe(16),
                          "BORG_BASE_DIR": str(work / "borg-base"),
                          "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes"},
                     init=lambda exe, repo: [exe, "init", "--encryption=repokey", repo],
                     create=lambda exe, repo: [exe, "create", f"{repo}::bench", str(src)],
                     version=["--version"], package="borgbackup")

        same = all(same_all)
        report.contenders.append(Contender(
            "engine restore + sync", _median(restore_times), nbytes,
            ("identical to the source" if same else "DIFFERS")
            + f"; {_cpu(cpu['engine restore + sync'], 'the restoring process')}"))
        report.extra["rounds"] = rounds
        report.extra["cpu_seconds"] = cpu
        report.extra["restore_spread"] = _spread(restore_times)
        if not same:
            report.notes.append("the restored tree differs from the source")
        report.notes.append(f"engine restore + sync: {_spread(restore_times)}")

        # --- memory at 4N --------------------------------------------------------------
        with steps.step(f"engine backup of {4 * size_mib} MiB for peak RSS"):
            big = work / "src4"
            big.mkdir()
            for i in range(4):  # hard links: 4x the bytes to read, no extra disk or time
                for f in sorted(src.iterdir()):
                    os.link(f, big / f"{i}-{f.name}")
            share = work / "share-4n"
            share.mkdir()
            line4, rss_4n = eng.backup(eng.configure(big, str(share)))
            shutil.rmtree(share)
        report.contenders.append(Contender(f"engine backup {4 * size_mib} MiB (memory run)",
                                           line4["seconds"], 4 * nbytes, f"peak RSS {rss_4n:.0f} MB"))

        report.ratio("backup: engine vs restic", "engine backup", "restic backup + sync", 2.0)
        # Issue 12's bounds: a full, encrypted backup within 0.8x of a plain copy, both ways.
        report.ratio("backup: engine vs cp -r + sync", "engine backup", "cp -r + sync", CP_RATIO)
        report.ratio("restore: engine vs cp -r + sync", "engine restore + sync", "cp -r + sync",
                     CP_RATIO)
        report.targets.append(Target(f"peak RSS, backup of {size_mib} MiB", rss_n,
                                     f"< {RSS_LIMIT_MB:g} MB", rss_n < RSS_LIMIT_MB,
                                     f"{rss_n:.1f} MB", unit="MB"))
        report.targets.append(Target(f"peak RSS, backup of {4 * size_mib} MiB", rss_4n,
                                     f"< {RSS_LIMIT_MB:g} MB", rss_4n < RSS_LIMIT_MB,
                                     f"{rss_4n:.1f} MB", unit="MB"))
        growth = rss_4n / rss_n
        report.targets.append(Target("peak RSS 4N / N (about the same)", growth,
                                     f"<= {RSS_GROWTH:g}x", growth <= RSS_GROWTH,
                                     f"{rss_4n:.1f} MB / {rss_n:.1f} MB"))
        report.extra["peak_rss_mb"] = {"n": rss_n, "4n": rss_4n}
        if _gnu_time() is None:
            report.notes.append("GNU time not installed (Debian package time): peak RSS figures "
                                "are os.wait4's, which include this bench's own RSS")
        if small_files > 0:
            pfx_file = work / "bench.pfx"
            pfx_file.write_bytes(pfx)
            loads["small files"] = _load()
            _small_files_case(report, steps, work, eng, pfx_file, pfx_password, small_files)
        loads["end"] = _load()
        report.notes.append("load average (1, 5, 15 min) on this machine of "
                            f"{os.cpu_count()} CPUs: " + "; ".join(
                                f"{when} {'/'.join(f'{x:.2f}' for x in v)}"
                                for when, v in loads.items()))
        return report
    finally:
        if keep:
            console.print(f"working folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _same_tree(a: Path, b: Path) -> bool:
    import filecmp

    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    _match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


# --- the small-files case (issue 12) ---------------------------------------------------------

SMALL_BACKUP_VS_RESTIC = 2.0
SMALL_RESTORE_VS_RESTIC = 1.5


def small_label(what: str, n: int) -> str:
    return f"{what}, {n:,} small files"


def _small_files_case(report: Report, steps: Steps, work: Path, eng: _Engine, pfx: Path,
                      pfx_password: str, n: int) -> None:
    """N files of 1-4 KiB in about N/100 folders: engine backup and restore against restic's,
    in speed and in peak RSS, same data, same run."""
    src = work / "small"
    with steps.step(f"writing {n:,} files of 1-4 KiB"):
        nbytes = small_files_tree(src, n)
        sync()
        read_all(src)
    small: dict[str, object] = {"files": n, "folders": max(1, n // 100), "bytes": nbytes}
    report.extra["small_files"] = small  # the figures are added once the rounds have run
    eb, rb, er, rr = (small_label(w, n) for w in (
        "engine backup", "restic backup + sync", "engine restore + sync", "restic restore + sync"))
    rss: dict[str, list[float]] = {eb: [], rb: [], er: [], rr: []}
    cpu: dict[str, list[float]] = {eb: [], rb: [], er: [], rr: []}
    times: dict[str, list[float]] = {}
    kept = _Kept()
    # Restored trees stay until every round has run: removing 100,000 files just before the
    # next round makes its creates slow on some file systems (ext4 without a journal scans
    # recently deleted inodes, recently_deleted() in find_inode_bit: seen here at 5-10x), and
    # would favour whoever runs first.
    restored: list[Path] = []

    def engine_backup(tag: str) -> float:
        share = work / f"small-share-{tag}"
        share.mkdir()
        store = eng.configure(src, str(share))
        line, peak = eng.backup(store)
        rss[eb].append(peak)
        cpu[eb].append(line["cpu"])
        kept.backed_up(share, store, line)
        return line["seconds"]

    def engine_restore(tag: str) -> float:
        target = work / f"small-restore-{tag}"
        store, line = kept.latest()
        took, peak, used = eng.restore(store, line["id"], pfx, pfx_password, target)
        took += _timed(sync)
        rss[er].append(peak)
        cpu[er].append(used)
        if tag == "warm":
            kept.engine_same = same_tree(src, target / ROLE)
        restored.append(target)
        return took

    backups: dict[str, Callable[[str], float]] = {eb: engine_backup}
    restores: dict[str, Callable[[str], float]] = {er: engine_restore}
    restic = shutil.which("restic")
    if restic is not None:
        env = dict(os.environ, RESTIC_PASSWORD=secrets.token_urlsafe(16),
                   RESTIC_CACHE_DIR=str(work / "restic-cache"))

        def restic_backup(tag: str) -> float:
            repo_path = work / f"small-restic-{tag}"
            repo = str(repo_path)
            subprocess.run([restic, "-r", repo, "init", "-q"], env=env, check=True,
                           capture_output=True)
            took, peak, _out, used = _measured([restic, "-r", repo, "backup", "-q", str(src)],
                                               env, "restic backup")
            took += _timed(sync)
            rss[rb].append(peak)
            cpu[rb].append(used)
            if kept.repo is not None:
                shutil.rmtree(kept.repo)
            kept.repo = repo_path
            return took

        def restic_restore(tag: str) -> float:
            target = work / f"small-restic-restore-{tag}"
            took, peak, _out, used = _measured([restic, "-r", str(kept.latest_repo()), "restore",
                                                "latest", "-q", "--target", str(target)], env,
                                               "restic restore")
            took += _timed(sync)
            rss[rr].append(peak)
            cpu[rr].append(used)
            if tag == "warm":
                kept.restic_same = same_tree(src, target / src.relative_to(src.anchor))
            restored.append(target)
            return took

        backups[rb] = restic_backup
        restores[rr] = restic_restore
    times.update(_interleaved(steps, backups))
    times.update(_interleaved(steps, restores))
    shutil.rmtree(kept.latest_share())
    line = kept.latest()[1]
    same = kept.engine_same
    report.contenders.append(Contender(
        eb, _median(times[eb]), nbytes,
        f"{_spread(times[eb])}; whole process {line['wall']:.2f} s (with start-up); "
        f"stored {line['sizeBytes']} bytes; peak RSS {max(rss[eb]):.0f} MB; "
        f"{_cpu(cpu[eb])}"))
    if restic is None:
        for name in (rb, rr):
            report.contenders.append(Contender(name, None, nbytes, "restic not installed"))
    else:
        shutil.rmtree(kept.latest_repo())
        report.contenders.append(Contender(rb, _median(times[rb]), nbytes,
                                           f"{_spread(times[rb])}; peak RSS {max(rss[rb]):.0f} MB; "
                                           f"{_cpu(cpu[rb])}"))
        report.contenders.append(Contender(
            rr, _median(times[rr]), nbytes,
            f"{_spread(times[rr])}; peak RSS {max(rss[rr]):.0f} MB; {_cpu(cpu[rr])}; "
            + ("identical to the source" if kept.restic_same else "DIFFERS")))
    report.contenders.append(Contender(
        er, _median(times[er]), nbytes,
        f"{_spread(times[er])}; peak RSS {max(rss[er]):.0f} MB; {_cpu(cpu[er])}; "
        + ("identical to the source" if same else "DIFFERS")))
    if not same:
        report.notes.append(f"{er}: the restored tree differs from the source")
    with steps.step("removing the restored trees"):
        for target in restored:
            shutil.rmtree(target)

    report.ratio(f"small files backup: engine vs restic ({n:,} files)", eb, rb,
                 SMALL_BACKUP_VS_RESTIC)
    report.ratio(f"small files restore: engine vs restic ({n:,} files)", er, rr,
                 SMALL_RESTORE_VS_RESTIC)
    for what, mine, theirs in (("backup", eb, rb), ("restore", er, rr)):
        name = f"small files peak RSS, {what}: engine / restic"
        if not rss[theirs]:
            report.targets.append(Target(name, None, "<= 1x", None, "not measured: restic not "
                                         "installed"))
            continue
        a, b = max(rss[mine]), max(rss[theirs])
        report.targets.append(Target(name, a / b, "<= 1x", a / b <= 1.0,
                                     f"engine {a:.1f} MB vs restic {b:.1f} MB (largest of "
                                     f"{len(rss[mine])} runs each)"))
    small.update(
        rounds=times, peak_rss_mb={k: max(v) for k, v in rss.items() if v},
        cpu_seconds={k: v for k, v in cpu.items() if v})


def _cpu(seconds: list[float], whose: str = "whole process") -> str:
    """CPU of the whole process (user + system), which a loaded machine inflates less than
    wall time."""
    return f"CPU median {_median(seconds):.2f} s ({whose})"


def _load() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the figures."""
    return [round(x, 2) for x in os.getloadavg()]


def _restore_child(argv: list[str]) -> int:
    """``restore STORE BACKUP_ID TARGET``, the PFX from $IBS_BENCH_PFX: one JSON line out."""
    from ibs.engine import certs
    from ibs.engine.clock import SystemClock
    from ibs.engine.controller import Controller
    from ibs.engine.store import Store

    store, backup_id, target = argv
    key = certs.load_pfx(Path(os.environ["IBS_BENCH_PFX"]).read_bytes(),
                         os.environ["IBS_BENCH_PFX_PASSWORD"])
    ctl = Controller(Store(store), SystemClock())
    took = _timed(lambda: ctl.restore(backup_id, key, target))
    print(json.dumps({"seconds": took}))
    return 0


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["restore"]:
        raise SystemExit("usage: python -m ibs.scenarios.bench.engine_bench restore STORE ID TARGET")
    raise SystemExit(_restore_child(sys.argv[2:]))
