"""``ibs bench KIND``: ``engine``, ``smb``, ``sim``, ``rp``, ``cluster`` (Dask,
scenarios/bench/cluster_bench.py), ``fuzz``, ``scenario`` and ``all``: throughput and memory
against plain tools, the simulator against bare SimPy, and a scenario file's loader against
tomllib. ``ibs bench all`` runs engine, smb and sim (and times the stateful fuzzer) into one
report. Plain ``ibs bench`` lists the kinds and exits 2: every kind runs for minutes,
``all`` for much longer, so none is started unasked.

Reports go to ``--report-dir`` (default ``bench-report/``; ``--out`` is its old name) as
``bench-<kind>.md`` and ``.json``, and are printed as a rich table, ratios first. Every kind
exits 1 when a target it checks fails, unless ``--no-check`` (measure only).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ibs.engine.cli.verbosity import QUIET, VERBOSE, add_verbosity, level
from ibs.engine.cli.vocab import renamed

if TYPE_CHECKING:
    from rich.console import Console

    from ibs.scenarios.bench.common import Report


KINDS = (
    ("engine", "local backup and restore vs cp -r + sync and restic; peak RSS"),
    ("smb", "backup to Samba vs plain smbprotocol; fake_smb throughput"),
    ("sim", "simulated hub vs a bare SimPy model with as many events"),
    ("rp", ("the Backup RP: GET backups with concurrent clients, ibs serve-rp beside its "
            "former http.server stack")),
    ("cluster", ("the built-in scenarios on a local Dask cluster vs serially, and Dask's "
                 "overhead per empty task")),
    ("fuzz", "stateful fuzzing programs per second at sim fidelity (target: 20)"),
    ("scenario", ("a scenario file of 10,000 events: loading it against tomllib's parse, and "
                  "its run's peak memory")),
    ("all", ("engine, smb and sim in one run and one report (bench-all.md/.json), plus the "
             "stateful fuzzer's programs/s")),
)


def _add_out(parser: argparse.ArgumentParser) -> None:
    """The options every kind has: where the reports go, and whether targets decide the exit."""
    parser.add_argument("--report-dir", default="bench-report", metavar="DIR",
                        help="report folder (default: %(default)s)")
    renamed(parser, "--out", "--report-dir", dest="report_dir", metavar="DIR")
    parser.add_argument("--no-check", action="store_true",
                        help="only measure: exit 0 even when a target fails (the report still "
                             "says which hold)")
    add_verbosity(parser, quiet="no line per step or round: only the report's tables, where "
                  "it is written and the targets that failed",
                  verbose="also a line as each step (each warm-up and round) starts, besides "
                  "its seconds as it ends")


def _sim_hub(spec: str) -> str:
    """``--hub`` as given, once it names a hub: ``asdk`` or 4 to 16 nodes."""
    from ibs.engine.errors import BadInput
    from ibs.simulator.profiles import parse_hub

    try:
        parse_hub(spec)
    except (BadInput, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure backup/restore throughput and memory against "
                       "cp, restic and plain SMB, and the simulator against bare SimPy")
    kinds = p.add_subparsers(dest="bench_kind", required=False, metavar="KIND")
    p.set_defaults(func=run, bench_kind=None)  # no KIND: list them, exit 2
    help_of = dict(KINDS)
    for kind, default in (("engine", 1024), ("smb", 1024)):
        k = kinds.add_parser(kind, help=help_of[kind])
        k.add_argument("--size-mib", type=int, default=default, metavar="N",
                       help=f"MiB of random source data (default {default})")
        _add_out(k)
        k.add_argument("--keep", action="store_true", help="keep the working folder (under $TMPDIR, default /tmp)")
        if kind == "engine":
            k.add_argument("--small-files", type=int, default=100_000, metavar="N",
                           help="files of 1-4 KiB (in about N/100 folders) for the small-files "
                           "case, engine vs restic in speed and peak RSS (default 100000; 0 "
                           "skips it)")
        k.set_defaults(func=run)
    k = kinds.add_parser("sim", help=help_of["sim"])
    k.add_argument("--days", type=float, default=365, metavar="N",
                   help="simulated days (default 365)")
    k.add_argument("--long-days", type=float, default=None, metavar="N",
                   help="simulated days of the long run, timed against --days "
                   "(default 10 x --days; 0 skips it)")
    k.add_argument("--hub", type=_sim_hub, default="16", metavar="asdk|4..16",
                   help="the hub: asdk, or its node count (default: %(default)s)")
    renamed(k, "--nodes", "--hub", metavar="N",
            apply=lambda ns, n: setattr(ns, "hub", "asdk" if n == "1" else n))
    _add_out(k)
    k.add_argument("--profile", action="store_true",
                   help="also profile one hub run (cProfile) into the report")
    k.set_defaults(func=run)
    k = kinds.add_parser("rp", help=help_of["rp"])
    k.add_argument("--clients", type=int, default=20, metavar="N",
                   help="concurrent clients, one connection each (default 20)")
    k.add_argument("--seconds", type=float, default=5.0, metavar="S",
                   help="measured seconds per server (default 5)")
    k.add_argument("--backups", type=int, default=20, metavar="N",
                   help="backups in the store the list answers with (default 20)")
    _add_out(k)
    k.set_defaults(func=run)
    k = kinds.add_parser("cluster", help=help_of["cluster"])
    k.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes of the local cluster (default 2)")
    k.add_argument("--library", metavar="DIR", help="scenario folder (default: the built-in one)")
    _add_out(k)
    k.set_defaults(func=run)
    k = kinds.add_parser("fuzz", help=help_of["fuzz"])
    k.add_argument("--batches", type=int, default=10, metavar="N",
                   help="batches of 10 programs, seeds 0..N-1 (default 10)")
    k.add_argument("--steps", type=int, default=40, metavar="N",
                   help="rules per program, as ibs fuzz (default 40)")
    k.add_argument("--workers", type=int, default=2, metavar="N",
                   help="worker processes of the local cluster the same batches then run on "
                        "(default 2, this machine kind's cores; 0: one process only)")
    _add_out(k)
    k.set_defaults(func=run)
    k = kinds.add_parser("scenario", help=help_of["scenario"])
    k.add_argument("--events", type=int, default=10_000, metavar="N",
                   help="events in the scenario file (default 10000)")
    k.add_argument("--days", type=float, default=365, metavar="N",
                   help="virtual days the scenario runs, its events spread evenly over them "
                        "(default 365)")
    _add_out(k)
    k.set_defaults(func=run)
    k = kinds.add_parser("all", help=help_of["all"])
    k.add_argument("--size-mib", type=int, default=1024, metavar="N",
                   help="MiB of random source data for engine and smb (default 1024)")
    k.add_argument("--sim-days", type=float, default=365.0, metavar="N",
                   help="simulated days of the 16-node hub (default 365)")
    k.add_argument("--fuzz-programs", type=int, default=20, metavar="N",
                   help="stateful fuzzing programs to time (default 20)")
    _add_out(k)
    k.add_argument("--keep", action="store_true", help="keep the working folders (under $TMPDIR, default /tmp)")
    k.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ibs.scenarios.bench.common import Steps

    Steps.announce = level(args) >= VERBOSE
    try:
        return _run(args)
    finally:
        Steps.announce = False  # a setting of this command, not of the process


def _run(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console

    # Off a terminal (a log, a pipe) rich would wrap the tables at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    # What the benchmarks print as they go; --quiet keeps only the summary, on ``console``.
    work = Console(quiet=True) if level(args) == QUIET else console
    if args.bench_kind is None:
        for kind, text in KINDS:
            console.print(f"  ibs bench {kind:9} {text}", soft_wrap=True)
        print("ibs: bench needs a KIND (each measures for minutes): "
              f"{', '.join(k for k, _ in KINDS)}; 'ibs bench KIND --help' for its options",
              file=sys.stderr)
        return 2
    if args.bench_kind == "sim":
        return _run_sim(args, console, work)
    if args.bench_kind == "all":
        return _run_all(args, console, work)
    if args.bench_kind == "rp":
        return _run_rp(args, console, work)
    if args.bench_kind == "cluster":
        return _run_cluster(args, console, work)
    if args.bench_kind == "scenario":
        return _run_scenario(args, console, work)
    if args.bench_kind == "fuzz":
        from ibs.scenarios.bench.fuzz_bench import run_fuzz_bench

        if args.batches < 1 or args.steps < 1 or args.workers < 0:
            import sys

            print("ibs: --batches and --steps must be at least 1, --workers 0 or more",
                  file=sys.stderr)
            return 2
        report = run_fuzz_bench(args.batches, args.steps, work, args.workers)
        report.print(console)
        md, js = report.write(Path(args.report_dir))
        console.print(f"report: {md} and {js}")
        return _failed_exit(report, args.no_check)
    if args.size_mib < 1:
        console.print("ibs: --size-mib must be at least 1")
        return 2
    if args.bench_kind == "engine":
        if args.small_files < 0:
            console.print("ibs: --small-files must be 0 (skip) or more")
            return 2
        from ibs.scenarios.bench.engine_bench import run_engine_bench

        work.print(f"ibs bench engine: {args.size_mib} MiB, {args.small_files:,} small files")
        report = run_engine_bench(args.size_mib, work, args.keep, args.small_files)
    else:
        from ibs.scenarios.bench.smb_bench import run_smb_bench

        work.print(f"ibs bench {args.bench_kind}: {args.size_mib} MiB")
        report = run_smb_bench(args.size_mib, work, args.keep)
    report.print(console)
    md, js = report.write(Path(args.report_dir))
    console.print(f"report: {md} and {js}")
    return _failed_exit(report, args.no_check)


def _run_rp(args: argparse.Namespace, console: Console, work: Console) -> int:
    import sys

    if args.clients < 1 or not args.seconds > 0 or args.backups < 0:
        print("ibs: --clients must be at least 1, --seconds more than 0, --backups 0 or more",
              file=sys.stderr)
        return 2
    from ibs.scenarios.bench.rp_bench import run_rp_bench

    work.print(f"ibs bench rp: {args.clients} clients, {args.seconds:g} s each, "
               f"{args.backups} backups")
    report = run_rp_bench(args.clients, args.seconds, args.backups, work)
    report.print(console)
    md, js = report.write(Path(args.report_dir))
    console.print(f"report: {md} and {js}")
    return _failed_exit(report, args.no_check)


def _failed_exit(report: Report, no_check: bool) -> int:
    """1 when a target failed (named on stderr) and the targets are checked, else 0."""
    return _verdict([t.name for t in report.targets if t.passed is False],
                    len(report.targets), no_check)


def _verdict(failed: list[str], total: int, no_check: bool) -> int:
    import sys

    if not failed:
        return 0
    names = "; ".join(failed)
    if no_check:
        print(f"ibs: {len(failed)} of {total} targets failed (not checked: --no-check): {names}",
              file=sys.stderr)
        return 0
    print(f"ibs: {len(failed)} of {total} targets failed: {names}", file=sys.stderr)
    return 1


def _run_sim(args: argparse.Namespace, console: Console, work: Console) -> int:
    import sys

    from ibs.engine.errors import BadInput
    from ibs.simulator.profiles import parse_hub

    if not args.days > 0:
        print("ibs: --days must be more than 0", file=sys.stderr)
        return 2
    if args.long_days is not None and args.long_days != 0 and not args.long_days > args.days:
        print(f"ibs: --long-days must be more than --days ({args.days:g}), or 0 to skip the "
              "long run", file=sys.stderr)
        return 2
    try:
        hub = parse_hub(args.hub)  # --nodes arrives unchecked
    except (BadInput, ValueError) as exc:
        print(f"ibs: {exc}", file=sys.stderr)
        return 2
    from ibs.scenarios.bench.sim_bench import run_sim_bench

    work.print(f"ibs bench sim: {args.days:g} days, {hub.name} hub")
    out = Path(args.report_dir)
    report = run_sim_bench(args.days, hub.nodes, work, out=out, profile=args.profile,
                           long_days=args.long_days)
    report.print(console)
    md, js = report.write(out)
    console.print(f"report: {md} and {js}")
    return _failed_exit(report, args.no_check)


def _run_scenario(args: argparse.Namespace, console: Console, work: Console) -> int:
    import sys

    if args.events < 1 or not 0 < args.days <= 3650:
        print("ibs: --events must be at least 1, --days more than 0 and at most 3650",
              file=sys.stderr)
        return 2
    from ibs.scenarios.bench.scenario_bench import run_scenario_bench, spacing

    if spacing(args.events, args.days) < 1:
        print(f"ibs: {args.events} events one second apart need more than --days "
              f"{args.days:g}: fewer events or more days", file=sys.stderr)
        return 2

    work.print(f"ibs bench scenario: {args.events:,} events over {args.days:g} days")
    report = run_scenario_bench(args.events, args.days, work)
    report.print(console)
    md, js = report.write(Path(args.report_dir))
    console.print(f"report: {md} and {js}")
    return _failed_exit(report, args.no_check)


def _run_cluster(args: argparse.Namespace, console: Console, work: Console) -> int:
    import sys

    from ibs.scenarios.bench.cluster_bench import run_cluster_bench
    from ibs.scenarios.cli import LIBRARY

    library = Path(args.library) if args.library else LIBRARY
    if args.workers < 1 or not list(library.glob("*.toml")):
        print(f"ibs: --workers must be at least 1 and {library} must hold scenarios (*.toml)",
              file=sys.stderr)
        return 2
    work.print(f"ibs bench cluster: {library}, {args.workers} workers")
    report = run_cluster_bench(library, args.workers, work)
    report.print(console)
    md, js = report.write(Path(args.report_dir))
    console.print(f"report: {md} and {js}")
    return _failed_exit(report, args.no_check)


def _run_all(args: argparse.Namespace, console: Console, work: Console) -> int:
    import sys

    if args.size_mib < 1:
        print("ibs: --size-mib must be at least 1", file=sys.stderr)
        return 2
    if not args.sim_days > 0:
        print("ibs: --sim-days must be more than 0", file=sys.stderr)
        return 2
    if args.fuzz_programs < 1:
        print("ibs: --fuzz-programs must be at least 1", file=sys.stderr)
        return 2
    from ibs.scenarios.bench.all_bench import run_all_bench

    work.print(f"ibs bench all: {args.size_mib} MiB, {args.sim_days:g} simulated days, "
               f"{args.fuzz_programs} fuzz programs")
    report = run_all_bench(args.size_mib, args.sim_days, args.fuzz_programs, work, args.keep)
    report.print(console)
    md, js = report.write(Path(args.report_dir))
    console.print(f"report: {md} and {js}")
    failed = [f"{section}: {t.name}" for section, t in report.targets if t.passed is False]
    return _verdict(failed, len(report.targets), args.no_check)
