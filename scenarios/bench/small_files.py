"""The small-files case of ``ibs bench engine`` (``--small-files N``, issue 12): N files of 1-4
KiB in about N/100 folders, the engine's backup and restore against restic's, in speed and in
peak RSS, same data, same run. The big-file case, which runs this one last, is engine_bench.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ibs.scenarios.bench.common import (
    Contender,
    Report,
    Steps,
    Target,
    read_all,
    same_tree,
    small_files_tree,
    sync,
)
from ibs.scenarios.bench.rounds import (
    ROLE,
    EngineRuns,
    Kept,
    cpu_note,
    interleaved,
    measured,
    median,
    spread,
    timed,
)

# The small-files case's part of the method the report states (engine_bench.METHOD ends with it).
METHOD = (
    "Small files (`--small-files N`, issue 12): N files of 1,024-4,096 random bytes (sizes "
    "seeded, contents random) in N/100 folders, synced and read once. Engine backup as above; "
    "engine restore in a child too (`python -m ibs.scenarios.bench.engine_bench restore`, timed "
    "inside it around `Controller.restore`) plus `sync`; restic: `restic backup` of the same "
    "folder into a fresh repository per round, and `restic restore latest --target` from the "
    "last one, each timed as a whole process plus `sync`; before each restore its input (the "
    "engine's share, restic's repository) is read once, untimed, so both start warm. A warm-up of each, then the rounds "
    "taking engine and restic in turn (backups first, then restores), so drifting load weighs "
    "on both; restored trees are removed only after the last round (removing 100,000 files "
    "slows the creates that follow on some file systems). Peak RSS of every run by GNU time, "
    "the largest run counts; CPU seconds (whole process) beside the wall times. Targets: backup >= 2x restic, restore >= "
    "1.5x restic, peak RSS engine / restic <= 1 for each. The first warm-up restore of each is "
    "compared with the source, file by file."
)

SMALL_BACKUP_VS_RESTIC = 2.0
SMALL_RESTORE_VS_RESTIC = 1.5


def small_label(what: str, n: int) -> str:
    return f"{what}, {n:,} small files"


def run_small_files(report: Report, steps: Steps, work: Path, eng: EngineRuns, pfx: Path,
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
    kept = Kept()
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
        read_all(kept.latest_share())  # warm, as restic's repository is (see METHOD)
        took, peak, used = eng.restore(store, line["id"], pfx, pfx_password, target)
        took += timed(sync)
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
            took, peak, _out, used = measured([restic, "-r", repo, "backup", "-q", str(src)],
                                              env, "restic backup")
            took += timed(sync)
            rss[rb].append(peak)
            cpu[rb].append(used)
            if kept.repo is not None:
                shutil.rmtree(kept.repo)
            kept.repo = repo_path
            return took

        def restic_restore(tag: str) -> float:
            target = work / f"small-restic-restore-{tag}"
            read_all(kept.latest_repo())
            took, peak, _out, used = measured([restic, "-r", str(kept.latest_repo()), "restore",
                                               "latest", "-q", "--target", str(target)], env,
                                              "restic restore")
            took += timed(sync)
            rss[rr].append(peak)
            cpu[rr].append(used)
            if tag == "warm":
                kept.restic_same = same_tree(src, target / src.relative_to(src.anchor))
            restored.append(target)
            return took

        backups[rb] = restic_backup
        restores[rr] = restic_restore
    times.update(interleaved(steps, backups))
    times.update(interleaved(steps, restores))
    shutil.rmtree(kept.latest_share())
    line = kept.latest()[1]
    same = kept.engine_same
    report.contenders.append(Contender(
        eb, median(times[eb]), nbytes,
        f"{spread(times[eb])}; whole process {line['wall']:.2f} s (with start-up); "
        f"stored {line['sizeBytes']} bytes; peak RSS {max(rss[eb]):.0f} MB; "
        f"{cpu_note(cpu[eb])}"))
    if restic is None:
        for name in (rb, rr):
            report.contenders.append(Contender(name, None, nbytes, "restic not installed"))
    else:
        shutil.rmtree(kept.latest_repo())
        report.contenders.append(Contender(rb, median(times[rb]), nbytes,
                                           f"{spread(times[rb])}; peak RSS {max(rss[rb]):.0f} MB; "
                                           f"{cpu_note(cpu[rb])}"))
        report.contenders.append(Contender(
            rr, median(times[rr]), nbytes,
            f"{spread(times[rr])}; peak RSS {max(rss[rr]):.0f} MB; {cpu_note(cpu[rr])}; "
            + ("identical to the source" if kept.restic_same else "DIFFERS")))
    report.contenders.append(Contender(
        er, median(times[er]), nbytes,
        f"{spread(times[er])}; peak RSS {max(rss[er]):.0f} MB; {cpu_note(cpu[er])}; "
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
