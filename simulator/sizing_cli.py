"""``ibs sizing``: how big the backup share must be for a policy, in md, html, json or csv.

The figures come from :mod:`ibs.simulator.sizing` (pure, deterministic); :mod:`ibs.reports.sizing`
renders them. ``--check`` also simulates the plan (:mod:`ibs.simulator.crosscheck`) and prints
both answers side by side. Day 0 of the occupancy series is today unless ``--start-date`` says
otherwise (for reproducible reports).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import asdict
from pathlib import Path

from ibs.engine.cli.vocab import renamed
from ibs.engine.errors import BadInput
from ibs.engine.units import format_bytes
from ibs.simulator.cluster import add_options as add_cluster_options
from ibs.simulator.inputs import add_shared_inputs
from ibs.simulator.sizing import DEFAULT_ENV, SizingInputs, SizingReport, plan

FORMATS = ("md", "html", "json", "csv")
ENVS = ("asdk", "4-16", "4-16-aad")


def register(sub) -> None:
    p = sub.add_parser("sizing", help="size the backup share for a policy: per backup, kept, "
                       "required, peak, headroom, growth over time",
                       description="Size the external share for Infrastructure Backup. Sizes are "
                       "modelled: 1 GB = 10^9 bytes.")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--hub", type=_hub, default=None, metavar="asdk|4..16",
                      help="the hub: asdk (10 GB a backup) or a node count from 4 to 16 (20 GB "
                      "a backup; 1 GB with --identity AzureAD) (default: a 4 to 16 node hub)")
    renamed(size, "--env", "--hub", choices=ENVS, metavar="asdk|4-16|4-16-aad",
            apply=_apply_env)
    size.add_argument("--backup-size-gb", type=float, metavar="N",
                      help="size of one backup in GB instead of a hub's")
    p.add_argument("--identity", choices=("ADFS", "AzureAD"), default=None,
                   help="the hub's identity provider: AzureAD hubs of build 1907 and later back "
                   "up 1 GB (default ADFS)")
    add_shared_inputs(p)
    horizon = p.add_mutually_exclusive_group()
    horizon.add_argument("--years", type=int, default=1, metavar="N",
                         help="planning horizon in years, 1 to 10 (default 1)")
    horizon.add_argument("--days", type=int, metavar="N",
                         help="planning horizon in days, 1 to 3650, instead of --years")
    p.add_argument("--share-capacity-gb", type=float, metavar="N",
                   help="capacity of the share in GB, for headroom and the run-out date")
    p.add_argument("--check", action="store_true",
                   help="also simulate the plan on a hub (the share at --share-capacity-gb, "
                   "else exactly the peak) over the whole horizon; print both answers side by "
                   "side and exit 1 when they disagree (the report goes only to --out)")
    sweep = p.add_argument_group(
        "sweep", "--sweep cross-checks every point of a grid (the product of the lists below) "
        "by simulation and prints one row a point; exit 1 when any point disagrees")
    sweep.add_argument("--sweep", action="store_true", help="run the grid instead of one plan")
    sweep.add_argument("--hubs", default=",".join(ENVS), metavar="LIST",
                       help=f"hub profiles from {', '.join(ENVS)} (4-16: any node count; "
                       f"4-16-aad: with Azure AD) (default {','.join(ENVS)})")
    renamed(sweep, "--envs", "--hubs", metavar="LIST")
    sweep.add_argument("--frequencies", default="12", metavar="LIST",
                       help="hours between backups (default 12)")
    sweep.add_argument("--retentions", default="7", metavar="LIST",
                       help="days a backup is kept (default 7)")
    sweep.add_argument("--growths", default="0", metavar="LIST",
                       help="yearly growth in %% (default 0)")
    sweep.add_argument("--share-gbs", default="peak", metavar="LIST",
                       help="share capacities in GB; 'peak' is exactly the planned peak "
                       "(default peak)")
    add_cluster_options(sweep, "sweep's points")
    p.add_argument("--format", choices=FORMATS, default="md", help="report format (default md)")
    p.add_argument("--out", metavar="PATH", help="write the report here (md also writes the "
                   "chart beside it as PATH.png); without it the report goes to stdout")
    p.add_argument("--start-date", type=_date, metavar="YYYY-MM-DD",
                   help="day 0 of the occupancy series (default today)")
    p.set_defaults(func=run)


def _hub(text: str) -> str:
    if text.lower() == "asdk":
        return "asdk"
    if text.isdigit() and 4 <= int(text) <= 16:
        return str(int(text))
    raise argparse.ArgumentTypeError(f"give asdk or a node count from 4 to 16, not {text!r}")


def _apply_env(ns: argparse.Namespace, env: str) -> None:
    """The old ``--env``: its profile as --hub and --identity say it."""
    ns.hub = "asdk" if env == "asdk" else "16"
    ns.identity = "AzureAD" if env == "4-16-aad" else "ADFS"


def env_of(hub: str | None, identity: str | None) -> str:
    """The sizing profile of a hub: asdk, 4-16 (any node count) or 4-16-aad (with Azure AD)."""
    if hub == "asdk":
        if identity == "AzureAD":
            raise BadInput("sizing knows no Azure AD figure for an ASDK: give --hub 4..16 with "
                           "--identity AzureAD, or --backup-size-gb")
        return "asdk"
    return "4-16-aad" if identity == "AzureAD" else DEFAULT_ENV


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run(args: argparse.Namespace) -> int:
    if args.sweep:
        return run_sweep(args)
    if args.backup_size_gb is not None and args.identity is not None:
        raise BadInput("--identity does not go with --backup-size-gb: the size given is used "
                       "as it is")
    inputs = SizingInputs(
        start=args.start_date or dt.date.today(),
        env=None if args.backup_size_gb is not None else env_of(args.hub, args.identity),
        backup_size_gb=args.backup_size_gb,
        frequency_hours=args.frequency_hours,
        retention_days=args.retention_days,
        growth_pct_per_year=args.growth_pct_per_year,
        growth_gb_per_day=args.growth_gb_per_day,
        years=args.years,
        days=args.days,
        share_capacity_gb=args.share_capacity_gb,
        share_used_gb=args.share_used_gb,
        link_mb_per_second=args.link_mb_per_second,
    )
    if args.check:
        if args.out:  # without --out, --check prints only the comparison: no plan to render
            _report(args, plan(inputs))
        return run_check(inputs)
    return _report(args, plan(inputs))


def _report(args: argparse.Namespace, report: SizingReport) -> int:
    from ibs.reports.sizing import render

    out = Path(args.out) if args.out else None
    if out is not None and out.is_dir():
        example = out / f"sizing.{args.format}"
        raise BadInput(f"--out {out} is a folder; give a file name such as {example}")
    if args.format == "json":
        text = render.to_json(report)
    elif args.format == "csv":
        text = render.to_csv(report)
    elif args.format == "html":
        text = render.to_html(report)
    else:
        chart = None
        if out is not None:
            chart = (out.with_suffix(".png") if out.suffix != ".png"
                     else out.with_name(out.name + ".png"))
        text = render.to_markdown(report, chart.name if chart else None)
        if chart is not None:
            _write(chart, render.chart_png(report))
    if out is None:
        sys.stdout.write(text)
        return 0
    _write(out, text.encode())
    print(f"report: {out}" + (f" and {chart}" if args.format == "md" and chart else ""),
          file=sys.stderr)
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True)
        path.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def run_check(inputs: SizingInputs) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ibs.simulator.crosscheck import cross_check

    err = Console(stderr=True)
    if err.is_terminal:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("simulating", total=None)
            result = cross_check(inputs, on_day=lambda done, total: progress.update(
                task, completed=done, total=total, description=f"simulating day {done}/{total}"))
    else:
        result = cross_check(inputs)
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"Share of {format_bytes(result.capacity_bytes)}"
              + (f" ({format_bytes(inputs.share_used_bytes)} used by other data)"
                 if inputs.share_used_bytes else "")
              + f", every {inputs.frequency_hours} h kept {inputs.retention_days} days, "
              f"{result.days} days from {inputs.start.isoformat()}:")
    table = Table(show_edge=False, header_style="bold")
    for column in ("", "sizing", "simulation"):
        table.add_column(column, justify="right" if column else "left")
    s, m = result.sizing, result.simulation
    table.add_row("peak", format_bytes(s.peak_bytes), format_bytes(m.peak_bytes))
    table.add_row("peak (bytes)", f"{s.peak_bytes:,}", f"{m.peak_bytes:,}")
    table.add_row("backups kept", str(s.backups_kept), str(m.backups_kept))
    table.add_row("runs out", str(s.runs_out_on or "never"), str(m.runs_out_on or "never"))
    out.print(table)
    if result.agree:
        out.print("agree: the simulated share behaves as sized")
        return 0
    for line in result.disagreements:
        print(f"DISAGREE: {line}", file=sys.stderr)
    return 1


def run_sweep(args: argparse.Namespace) -> int:
    from ibs.reports.sizing import sweep as render
    from ibs.simulator import cluster, sweep

    cluster.check_options(args.jobs, args.cluster)
    for flag, given in (("--hub", args.hub), ("--identity", args.identity),
                        ("--backup-size-gb", args.backup_size_gb),
                        ("--share-capacity-gb", args.share_capacity_gb), ("--check", args.check)):
        if given:
            raise BadInput(f"{flag} does not go with --sweep: the grid's axes are --hubs, "
                           "--frequencies, --retentions, --growths and --share-gbs")
    if args.format == "html":
        raise BadInput("--sweep writes md, csv or json, not html")
    grid = sweep.Grid(sweep.parse_axis("--hubs", args.hubs, str),
                      sweep.parse_axis("--frequencies", args.frequencies, int),
                      sweep.parse_axis("--retentions", args.retentions, int),
                      sweep.parse_axis("--growths", args.growths, float),
                      sweep.parse_axis("--share-gbs", args.share_gbs, float))
    common = {"start": (args.start_date or dt.date.today()).isoformat(), "years": args.years,
              "days": args.days, "growth_gb_per_day": args.growth_gb_per_day,
              "share_used_gb": args.share_used_gb,
              "link_mb_per_second": args.link_mb_per_second}
    points = grid.points()
    for point in points:  # every point is checked here, before anything runs
        sweep.inputs_of(point, {**common, "start": dt.date.fromisoformat(common["start"])})
    rows = cluster.run_all(sweep.check_point, [(asdict(p), common) for p in points],
                           jobs=args.jobs, address=args.cluster, label="sweep points",
                           failed=lambda r: not r["agree"])
    text = {"json": render.to_json, "csv": render.to_csv}.get(args.format,
                                                              render.to_markdown)(rows)
    if args.out:
        _write(Path(args.out), text.encode())
        print(f"report: {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    bad = [r for r in rows if not r["agree"]]
    for r in bad:
        print(f"DISAGREE: {r['env']}, every {r['frequencyHours']} h kept {r['retentionDays']} d, "
              f"growth {r['growthPctPerYear']:g} %/y, share {r['shareGb'] or 'peak'} GB: "
              + "; ".join(r["disagreements"]), file=sys.stderr)
    return 1 if bad else 0
