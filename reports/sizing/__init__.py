"""``ibs sizing``: how big the backup share must be for a policy, in md, html, json or csv.

The figures come from :mod:`simulator.sizing` (pure, deterministic); this package renders them
(:mod:`reports.sizing.render`) and adds the command. Day 0 of the occupancy series is today
unless ``--start-date`` says otherwise (for reproducible reports).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ibs.simulator.sizing import SizingReport

from ibs.simulator.inputs import add_shared_inputs

FORMATS = ("md", "html", "json", "csv")
ENVS = ("asdk", "4-16", "4-16-aad")


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("sizing", help="size the backup share for a policy: per backup, kept, "
                       "required, peak, headroom, growth over time",
                       description="Size the external share for Infrastructure Backup. Sizes are "
                       "modelled: 1 GB = 10^9 bytes.")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--env", choices=ENVS, default=None,
                      help="environment: asdk (10 GB a backup), 4-16 (20 GB, the default), "
                      "4-16-aad (1 GB; Azure AD, build 1907+)")
    size.add_argument("--backup-size-gb", type=float, metavar="N",
                      help="size of one backup in GB instead of an environment's")
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
    p.add_argument("--format", choices=FORMATS, default="md", help="report format (default md)")
    p.add_argument("--out", metavar="PATH", help="write the report here (md also writes the "
                   "chart beside it as PATH.png); without it the report goes to stdout")
    p.add_argument("--start-date", type=_date, metavar="YYYY-MM-DD",
                   help="day 0 of the occupancy series (default today)")
    p.set_defaults(func=run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from ibs.simulator.sizing import DEFAULT_ENV, SizingInputs, plan

    inputs = SizingInputs(
        start=args.start_date or dt.date.today(),
        env=None if args.backup_size_gb is not None else (args.env or DEFAULT_ENV),
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
        from ibs.reports.sizing.check import run_check

        if args.out:  # without --out, --check prints only the comparison: no plan to render
            _report(args, plan(inputs))
        return run_check(inputs)
    return _report(args, plan(inputs))


def _report(args: argparse.Namespace, report: SizingReport) -> int:
    from ibs.engine.errors import BadInput
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
    from ibs.engine.errors import BadInput

    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True)
        path.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
