"""``ibs bench engine``: the engine's local backup and restore against cp+sync and restic.

This module is the big-file case, which runs first, and the report; the small-files case is
small_files.py, and how each contender is timed, in rounds, is rounds.py. Run as
``python -m ibs.scenarios.bench.engine_bench restore ...`` it is the child that times one engine
restore for the small-files case.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import (
    Contender,
    Report,
    Steps,
    Target,
    random_tree,
    read_all,
    sync,
)
from ibs.scenarios.bench.rounds import (
    ROLE,
    EngineRuns,
    Kept,
    cpu_note,
    gnu_time,
    interleaved,
    load_average,
    measured,
    median,
    rounds_of,
    spread,
    timed,
)
from ibs.scenarios.bench.small_files import METHOD as SMALL_FILES_METHOD
from ibs.scenarios.bench.small_files import run_small_files

if TYPE_CHECKING:
    from rich.console import Console

CP_RATIO = 0.8  # engine throughput over cp -r + sync (1 GiB of random data)
RSS_LIMIT_MB = 150.0
RSS_GROWTH = 1.25  # "about the same": the 4N peak within 25 % of the N peak

METHOD = (
    "Source: N MiB of random data in 4 files under /tmp, just written and then read once, so "
    "every contender starts from the same warm page cache (dropping the cache is not reliable "
    "here); the restore's input, the share that round's backup wrote (its writeback hints "
    "drop written pages from the cache), is read once before the restore is timed, for the "
    "same reason. Each contender runs once to warm up (discarded, into its own fresh destination) and "
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
) + SMALL_FILES_METHOD


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

        took = timed(create_and_sync)
        shutil.rmtree(repo)
        return took

    times = rounds_of(steps, label, run)
    shown = subprocess.run([exe, *version], check=False, capture_output=True,
                           text=True).stdout.strip()
    report.extra[f"{tool}_rounds"] = times
    report.contenders.append(Contender(label, median(times), nbytes, f"{spread(times)}; {shown}"))


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
        eng = EngineRuns(work, cer)

        # --- backup and restore, against cp, in interleaved rounds ---------------------------
        loads: dict[str, list[float]] = {"start": load_average()}
        report.extra["load_average"] = loads  # filled in as the cases run
        kept = Kept()
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
            took, _rss, _out, used = measured(["cp", "-r", str(src), str(dst)], dict(os.environ),
                                              "cp -r")
            took += timed(sync)
            if tag != "warm":
                cpu["cp -r + sync"].append(used)
            shutil.rmtree(dst)
            return took

        def restore(tag: str) -> float:
            target = work / f"restore-{tag}"
            store, line = kept.latest()
            # The method's promise, kept for the restore's input too: the backup left its share
            # mostly out of the page cache (its writeback hints drop what is written), while
            # cp reads a warm source; a cold share measured the disk, not the restore.
            read_all(kept.latest_share())
            ctl = Controller(Store(str(store)), SystemClock())
            used = time.process_time()  # this process's threads: only the restore runs now

            def restore_and_sync() -> None:
                ctl.restore(line["id"], key, str(target))
                sync()

            took = timed(restore_and_sync)
            if tag != "warm":
                cpu["engine restore + sync"].append(time.process_time() - used)
            same_all.append(_same_tree(src, target / ROLE))
            shutil.rmtree(target)
            return took

        rounds = interleaved(steps, {"engine backup": engine_run, "cp -r + sync": cp_sync,
                                     "engine restore + sync": restore})
        engine_times, cp_times = rounds["engine backup"], rounds["cp -r + sync"]
        restore_times = rounds["engine restore + sync"]
        line = kept.latest()[1]
        rss_n = max(rss_runs)
        report.contenders.append(Contender(
            "engine backup", median(engine_times), nbytes,
            f"{spread(engine_times)}; stored {line['sizeBytes']} bytes; peak RSS {rss_n:.0f} MB; "
            f"{cpu_note(cpu['engine backup'])}"))
        report.contenders.append(Contender("cp -r + sync", median(cp_times), nbytes,
                                           f"{spread(cp_times)}; "
                                           + cpu_note(cpu["cp -r + sync"],
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
            "engine restore + sync", median(restore_times), nbytes,
            ("identical to the source" if same else "DIFFERS")
            + f"; {cpu_note(cpu['engine restore + sync'], 'the restoring process')}"))
        report.extra["rounds"] = rounds
        report.extra["cpu_seconds"] = cpu
        report.extra["restore_spread"] = spread(restore_times)
        if not same:
            report.notes.append("the restored tree differs from the source")
        report.notes.append(f"engine restore + sync: {spread(restore_times)}")

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
        if gnu_time() is None:
            report.notes.append("GNU time not installed (Debian package time): peak RSS figures "
                                "are os.wait4's, which include this bench's own RSS")
        if small_files > 0:
            pfx_file = work / "bench.pfx"
            pfx_file.write_bytes(pfx)
            loads["small files"] = load_average()
            run_small_files(report, steps, work, eng, pfx_file, pfx_password, small_files)
        loads["end"] = load_average()
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
    took = timed(lambda: ctl.restore(backup_id, key, target))
    print(json.dumps({"seconds": took}))
    return 0


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["restore"]:
        raise SystemExit("usage: python -m ibs.scenarios.bench.engine_bench restore STORE ID TARGET")
    raise SystemExit(_restore_child(sys.argv[2:]))
