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
from pathlib import Path

from reports.bench.common import Contender, Report, Steps, Target, random_tree, read_all, sync

ROLE = "SRP"
ROUNDS = 3  # measured rounds per contender, after one warm-up; the median counts
RSS_LIMIT_MB = 150.0
RSS_GROWTH = 1.25  # "about the same": the 4N peak within 25 % of the N peak

METHOD = (
    "Source: N MiB of random data in 4 files under /tmp, just written and then read once, so "
    "every contender starts from the same warm page cache (dropping the cache is not reliable "
    "here). Each contender runs once to warm up (discarded, into its own fresh destination) and "
    "is then measured ROUNDS times, each into a fresh destination; its figure is the median of "
    "those rounds (min/median/max are in its note), and ratios are ratios of medians. Backup times include making everything durable: the engine's local "
    "share fsyncs each file on close, and `sync` is run after `cp -r` and after `restic backup`. "
    "The engine's backup runs in a subprocess (Controller, LocalShare, SystemClock, default chunk "
    "size, threads=True); its time is measured inside that process around `start_backup().run()` "
    "(no interpreter start-up), and its peak RSS is the child's ru_maxrss from os.wait4. "
    "restic: a fresh repository per run (init not timed, password from RESTIC_PASSWORD), "
    "`restic backup` to completion plus `sync`. borg: likewise a fresh repository per run "
    "(`borg init --encryption=repokey`, passphrase from BORG_PASSPHRASE, not timed), then "
    "`borg create` (default lz4 compression) plus `sync`; no target, a figure beside restic. Restore: `ctl.restore` with the PFX, then `sync`, "
    "vs `cp -r` of the source plus `sync`. Throughput = source bytes / seconds (MB = 10^6 bytes). "
    "Note: GNU cp copies with copy_file_range (an in-kernel copy, no user-space buffers), and "
    "on this kind of VM one measurement of cp + sync can vary about 2x from run to run."
)


def _ibs_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class _Engine:
    """A configured store per run: a fresh share folder, the certificate, one role."""

    def __init__(self, work: Path, cer: bytes) -> None:
        self.work = work
        self.cer = cer
        self.n = 0

    def configure(self, source: Path, share_path: str, **share_args) -> Path:
        from engine.clock import SystemClock
        from engine.controller import Controller
        from engine.store import Store

        self.n += 1
        store = self.work / f"store{self.n}"
        ctl = Controller(Store(str(store)), SystemClock())
        ctl.configure(path=share_path, cert=self.cer, sources={ROLE: str(source)}, **share_args)
        return store

    def backup(self, store: Path, profile: str | None = None) -> tuple[dict, float]:
        """Run the backup in a child; return its JSON line and its peak RSS in MB."""
        env = _ibs_env()
        if profile:
            env["IBS_BENCH_PROFILE"] = profile
        proc = subprocess.Popen([_python(), "-m", "reports.bench.worker", str(store)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close(); proc.stderr.close()  # type: ignore[union-attr]  # noqa: E702
        if proc.returncode != 0:
            raise RuntimeError(f"engine backup failed ({proc.returncode}): "
                               f"{out.decode(errors='replace')} {err.decode(errors='replace')}")
        return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss * 1024 / 1e6


def _python() -> str:
    import sys

    return sys.executable


def _timed(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _rounds(steps: Steps, what: str, run, rounds: int = ROUNDS) -> list[float]:  # noqa: ANN001
    """One warm-up (discarded), then ``rounds`` measured runs of ``run(tag) -> seconds``."""
    with steps.step(f"{what} (warm-up)"):
        run("warm")
    times = []
    for i in range(rounds):
        with steps.step(f"{what} (round {i + 1}/{rounds})"):
            times.append(run(f"r{i}"))
    return times


def _median(times: list[float]) -> float:
    return statistics.median(times)


def _spread(times: list[float]) -> str:
    return (f"min/median/max {min(times):.3f}/{statistics.median(times):.3f}/{max(times):.3f} s "
            f"over {len(times)} rounds")


def _backup_tool(report: Report, steps, src: Path, nbytes: int, work: Path, label: str,  # noqa: ANN001
                 tool: str, *, env: dict[str, str], init, create, version: list[str],  # noqa: ANN001
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
        took = _timed(lambda: (subprocess.run(create(exe, repo), env=full_env, check=True,
                                              capture_output=True), sync()))
        shutil.rmtree(repo)
        return took

    times = _rounds(steps, label, run)
    shown = subprocess.run([exe, *version], capture_output=True, text=True).stdout.strip()
    report.extra[f"{tool}_rounds"] = times
    report.contenders.append(Contender(label, _median(times), nbytes, f"{_spread(times)}; {shown}"))


def run_engine_bench(size_mib: int, console, keep: bool = False) -> Report:  # noqa: ANN001
    from engine import certs
    from engine.clock import SystemClock
    from engine.controller import Controller
    from engine.store import Store

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

        # --- backup --------------------------------------------------------------------
        kept: dict[str, object] = {}  # the last measured backup, restored below
        rss_runs: list[float] = []

        def engine_run(tag: str) -> float:
            share = work / f"share-{tag}"
            share.mkdir()
            store = eng.configure(src, str(share))
            line, rss = eng.backup(store)
            if tag == "warm":
                shutil.rmtree(share)
            else:
                rss_runs.append(rss)
                if "share" in kept:
                    shutil.rmtree(kept["share"])  # type: ignore[arg-type]
                kept.update(share=share, store=store, line=line)
            return line["seconds"]

        engine_times = _rounds(steps, "engine backup", engine_run)
        store, line = kept["store"], kept["line"]  # type: ignore[assignment]
        rss_n = max(rss_runs)
        report.contenders.append(Contender(
            "engine backup", _median(engine_times), nbytes,
            f"{_spread(engine_times)}; stored {line['sizeBytes']} bytes; peak RSS {rss_n:.0f} MB"))

        def cp_sync(tag: str) -> float:
            dst = work / f"cp-{tag}"
            took = _timed(lambda: (subprocess.run(["cp", "-r", str(src), str(dst)], check=True),
                                   sync()))
            shutil.rmtree(dst)
            return took

        cp_times = _rounds(steps, "cp -r + sync", cp_sync)
        report.contenders.append(Contender("cp -r + sync", _median(cp_times), nbytes,
                                           _spread(cp_times)))

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

        # --- restore -------------------------------------------------------------------
        ctl = Controller(Store(str(store)), SystemClock())

        same_all: list[bool] = []

        def restore(tag: str) -> float:
            target = work / f"restore-{tag}"
            took = _timed(lambda: (ctl.restore(line["id"], key, str(target)), sync()))
            same_all.append(_same_tree(src, target / ROLE))
            shutil.rmtree(target)
            return took

        restore_times = _rounds(steps, "engine restore + sync", restore)
        same = all(same_all)
        report.contenders.append(Contender(
            "engine restore + sync", _median(restore_times), nbytes,
            "identical to the source" if same else "DIFFERS"))
        report.extra["rounds"] = {"engine backup": engine_times, "cp -r + sync": cp_times,
                                  "engine restore + sync": restore_times}
        report.extra["restore_spread"] = _spread(restore_times)
        if not same:
            report.notes.append("the restored tree differs from the source")
        report.notes.append(f"engine restore + sync: {_spread(restore_times)}")
        shutil.rmtree(kept["share"])  # type: ignore[arg-type]

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
        report.ratio("backup: engine vs cp -r + sync", "engine backup", "cp -r + sync", 0.6)
        report.ratio("restore: engine vs cp -r + sync", "engine restore + sync", "cp -r + sync", 0.6)
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
