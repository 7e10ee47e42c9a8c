"""``ibs simulate``: run a simulated hub for some days and summarise what the backups did."""

from __future__ import annotations

import argparse
import json
import sys

from ibs.engine.cli.io import JSON_HELP
from ibs.engine.cli.verbosity import QUIET, VERBOSE, add_verbosity, level
from ibs.engine.cli.vocab import renamed
from ibs.engine.errors import BadInput
from ibs.engine.settings import check_frequency, check_retention
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.inputs import add_shared_inputs, growth_of, hub_config
from ibs.simulator.profiles import DEFAULT_VERSION, parse_hub
from ibs.simulator.summary import summarize

MAX_DAYS = 3650


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run a simulated Azure Stack Hub's backups in virtual time",
                       description="Run a simulated Azure Stack Hub's backups for some days of "
                       "virtual time and summarise what they did (statuses, share peak against "
                       "the budget, alerts, a recovery check).")
    p.add_argument("--hub", required=True, metavar="asdk|4..16",
                   help="the hub to simulate: asdk (one node) or a node count from 4 to 16")
    p.add_argument("--days", required=True, type=float, metavar="N",
                   help=f"virtual days to run, more than 0 and at most {MAX_DAYS}")
    p.add_argument("--seed", type=int, default=1, metavar="S",
                   help="random seed: the same seed gives the same run")
    p.add_argument("--fidelity", choices=("sim", "wire"), default="sim",
                   help="sim: a modelled share; wire: a real SMB server (fake_smb) under the hub")
    p.add_argument("--share-capacity-gb", type=float, default=10_000, metavar="N",
                   help="capacity of the backup share in GB")
    p.add_argument("--identity", choices=("ADFS", "AzureAD"), default="ADFS",
                   help="the hub's identity provider")
    p.add_argument("--stamp-version", default=DEFAULT_VERSION, metavar="V",
                   help="the hub's build (Azure AD hubs back up less from 1907 on)")
    add_shared_inputs(p)
    p.add_argument("--events-out", metavar="FILE",
                   help="write the event log here, as JSON lines (default: not written)")
    renamed(p, "--events", "--events-out", metavar="FILE")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    add_verbosity(p, quiet="only the verdict lines: backups by status, the share peak against "
                  "the budget, the recovery check and the alerts (no effect with --json)",
                  verbose="each event on stderr as the virtual days pass (backups started "
                  "and finished, alerts, failovers)")
    p.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> HubConfig:
    if not 0 < args.days <= MAX_DAYS:
        raise BadInput(f"--days must be more than 0 and at most {MAX_DAYS}, got {args.days}")
    if args.share_capacity_gb <= 0:
        raise BadInput(f"--share-capacity-gb must be more than 0, got {args.share_capacity_gb}")
    if not args.link_mb_per_second > 0:
        raise BadInput(f"--link-mb-per-second must be more than 0, got {args.link_mb_per_second}")
    check_frequency(args.frequency_hours)
    check_retention(args.retention_days)
    values = vars(args)
    profile = parse_hub(args.hub, identity=args.identity, version=args.stamp_version,
                        growth=growth_of(values))
    return hub_config(profile, values, seed=args.seed, fidelity=args.fidelity)


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    with Hub(config) as hub:
        if level(args) >= VERBOSE:
            _run_telling(hub, args.days)
        else:
            hub.run(args.days)
        result = summarize(hub, args.days)
        if args.events_out:
            with open(args.events_out, "w", encoding="utf-8") as f:
                f.write(hub.log.to_jsonl())
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    elif level(args) == QUIET:
        print_verdicts(result)
    else:
        print_summary(result)
    return 0


def _run_telling(hub: Hub, days: float) -> None:
    """``hub.run(days)`` a virtual day at a time, each day's new events on stderr as it ends:
    the same run (the hub stops between days and goes on where it stopped)."""
    import math

    shown = 0
    for day in [*range(1, math.ceil(days)), days]:
        hub.run(day)
        for entry in hub.log.entries[shown:]:
            print(event_line(entry), file=sys.stderr, flush=True)
        shown = len(hub.log.entries)


def event_line(entry: dict) -> str:
    """An event log entry for people: the time, the event, then its fields (8-character ids,
    sizes in bytes as people read them)."""
    from ibs.engine.cli.human import plain, when
    from ibs.engine.units import human_bytes

    fields = []
    for key, value in entry.items():
        if key in ("t", "at", "event"):
            continue
        if key == "id" and isinstance(value, str):
            value = value[:8]
        elif key.endswith("Bytes") and isinstance(value, int):
            key, value = key.removesuffix("Bytes"), human_bytes(value)
        fields.append(f"{key} {plain(value)}")
    return "  ".join([when(entry["at"]), entry["event"], *fields])


def print_verdicts(r: dict) -> None:
    """What ``--quiet`` keeps: one line per verdict."""
    from ibs.engine.units import human_bytes

    counts = ", ".join(f"{n} {status}" for status, n in r["backups"].items() if n)
    print(f"backups: {counts or 'none'}")
    within = "within" if r["sharePeakBytes"] <= r["budgetBytes"] else "OVER"
    print(f"share peak: {human_bytes(r['sharePeakBytes'])}, {within} the budget of "
          f"{human_bytes(r['budgetBytes'])}")
    print(f"recovery check: {r['recoveryCheck']}")
    active = sum(1 for a in r["alerts"] if not a["clearedDateTime"])
    print(f"alerts: {len(r['alerts'])} raised, {active} active")


def print_summary(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from ibs.engine.cli.human import when
    from ibs.engine.units import human_bytes

    console = Console(highlight=False)
    console.print(f"[bold]{r['hub']}[/bold] hub ({r['identity']}, {r['stampVersion']}), "
                  f"{r['days']:g} days, seed {r['seed']}, {r['fidelity']} fidelity; every "
                  f"{r['policy']['backupFrequencyInHours']} h kept "
                  f"{r['policy']['backupRetentionPeriodInDays']} days")
    t = Table(show_edge=False, header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for status, n in r["backups"].items():
        if n:
            t.add_row(f"backups {status}", str(n))
    within = "within" if r["sharePeakBytes"] <= r["budgetBytes"] else "OVER"
    t.add_row("share peak", f"{human_bytes(r['sharePeakBytes'])} ({within} budget)")
    t.add_row("budget (size x 24/f x d)", human_bytes(r["budgetBytes"]))
    t.add_row("alerts raised", str(len(r["alerts"])))
    t.add_row("recovery check", r["recoveryCheck"])
    console.print(t)
    for a in r["alerts"]:
        state = f"cleared {when(a['clearedDateTime'])}" if a["clearedDateTime"] else "active"
        console.print(f"  alert {a['category']} raised {when(a['raisedDateTime'])} ({state})")
