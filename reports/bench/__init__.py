"""``ibs bench engine``, ``ibs bench smb`` and ``ibs bench sim``: throughput and memory against
plain tools, and the simulator against bare SimPy.

Reports go to ``--out`` (default ``bench-report/``) as ``bench-<kind>.md`` and ``.json``, and
are printed as a rich table, ratios first.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("bench", help="measure backup/restore throughput and memory against "
                       "cp, restic and plain SMB, and the simulator against bare SimPy")
    kinds = p.add_subparsers(dest="bench_kind", required=True, metavar="KIND")
    for kind, default, text in (
        ("engine", 1024, "local backup and restore vs cp -r + sync and restic; peak RSS"),
        ("smb", 1024, "backup to Samba vs plain smbprotocol; fake_smb throughput"),
    ):
        k = kinds.add_parser(kind, help=text)
        k.add_argument("--size-mib", type=int, default=default, metavar="N",
                       help=f"MiB of random source data (default {default})")
        k.add_argument("--out", default="bench-report", metavar="DIR",
                       help="report folder (default bench-report/)")
        k.add_argument("--keep", action="store_true", help="keep the working folder under /tmp")
        k.set_defaults(func=run)
    k = kinds.add_parser("sim", help="simulated hub vs a bare SimPy model with as many events")
    k.add_argument("--days", type=float, default=365, metavar="N",
                   help="simulated days (default 365)")
    k.add_argument("--nodes", type=int, default=16, metavar="N",
                   help="hub nodes, 4 to 16, or 1 for the ASDK (default 16)")
    k.add_argument("--out", default="bench-report", metavar="DIR",
                   help="report folder (default bench-report/)")
    k.add_argument("--profile", action="store_true",
                   help="also profile one hub run (cProfile) into the report")
    k.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console

    # Off a terminal (a log, a pipe) rich would wrap the tables at 80 columns.
    console = Console(highlight=False, **({} if sys.stdout.isatty() else {"width": 160}))
    if args.bench_kind == "sim":
        return _run_sim(args, console)
    if args.size_mib < 1:
        console.print("ibs: --size-mib must be at least 1")
        return 2
    console.print(f"ibs bench {args.bench_kind}: {args.size_mib} MiB")
    if args.bench_kind == "engine":
        from reports.bench.engine_bench import run_engine_bench

        report = run_engine_bench(args.size_mib, console, args.keep)
    else:
        from reports.bench.smb_bench import run_smb_bench

        report = run_smb_bench(args.size_mib, console, args.keep)
    report.print(console)
    md, js = report.write(Path(args.out))
    console.print(f"report: {md} and {js}")
    return 0


def _run_sim(args: argparse.Namespace, console) -> int:  # noqa: ANN001
    import sys

    from engine.errors import BadInput
    from simulator.profiles import HubProfile

    if not args.days > 0:
        print("ibs: --days must be more than 0", file=sys.stderr)
        return 2
    try:
        HubProfile(nodes=args.nodes)
    except BadInput as exc:
        print(f"ibs: {exc}", file=sys.stderr)
        return 2
    from reports.bench.sim_bench import run_sim_bench

    console.print(f"ibs bench sim: {args.days:g} days, {args.nodes}-node hub")
    out = Path(args.out)
    report = run_sim_bench(args.days, args.nodes, console, out=out, profile=args.profile)
    report.print(console)
    md, js = report.write(out)
    console.print(f"report: {md} and {js}")
    return 0
