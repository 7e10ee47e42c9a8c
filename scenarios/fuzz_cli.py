"""``ibs fuzz``: a long stateful fuzzing campaign, for nightly use.

Runs the state machine of scenarios/fuzz.py batch after batch until the time is up: each batch
is ``BATCH`` programs generated from one seed, so a seed range replays exactly
(``--seed S --batches N``). A batch takes seconds, so the campaign stops within seconds of its
bound. A broken invariant does not stop it: the failure, its minimal program and its replay
line are printed and the campaign goes on. Progress (programs, failures, reach) is one line
rewritten on a terminal, a line every ``PROGRESS_EVERY`` seconds otherwise. The end prints the
reach table (scenarios/fuzz_reach.py) and the seeds that ran.

``--batches N`` runs exactly N batches instead, in this process or on a Dask cluster
(``--jobs``, ``--cluster``; docs/SCALING.md), where every batch is a task.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

from ibs.engine.cli.verbosity import QUIET, VERBOSE, add_verbosity, level
from ibs.engine.errors import BadInput
from ibs.simulator.cluster import add_options as add_cluster_options

BATCH = 10  # programs per seed: about a second of work at sim fidelity
PROGRESS_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal
STEPS = 40
MINUTES = 10.0


def register(sub) -> None:
    p = sub.add_parser("fuzz", help="stateful fuzzing of the engine in a simulated hub",
                       description=(
                           f"Fuzz until --minutes are up, in batches of {BATCH} programs from one "
                           "seed each (batch k runs seed SEED+k), stopping within seconds of the "
                           "bound. A broken invariant prints its minimal program and replay line, "
                           "and the campaign goes on (exit 1 at the end). Progress (programs, "
                           "failures, reach) is a line rewritten on a terminal, else a line every "
                           f"{PROGRESS_EVERY:g} s. The end prints the reach table and the command "
                           "that replays the seeds run."))
    p.add_argument("--minutes", type=float, default=MINUTES, metavar="N",
                   help=f"run until N minutes have passed (default {MINUTES:g})")
    p.add_argument("--seed", type=int, metavar="N",
                   help="the first batch's seed; batch k runs seed N+k (default: random)")
    p.add_argument("--fidelity", choices=("sim", "wire"), default="sim",
                   help="sim: in-memory share; wire: the real SMB client against fake_smb "
                        "(default sim)")
    p.add_argument("--steps", type=int, default=STEPS, metavar="N",
                   help=f"rules per program (default {STEPS})")
    p.add_argument("--db", default=".ibs-fuzz-db", metavar="DIR",
                   help="hypothesis' example database: failures replay from here "
                        "(default .ibs-fuzz-db)")
    p.add_argument("--batches", type=int, metavar="N",
                   help=f"run exactly N batches of {BATCH} programs (seeds SEED..SEED+N-1) "
                        "instead of until --minutes are up; needed with --jobs and --cluster "
                        "(default: none, the time bound)")
    add_cluster_options(p, "batches")
    add_verbosity(p, quiet="no progress lines; of the reach table only the rows missed; "
                  "failures and the replay line stay",
                  verbose="a line per batch as it ends: its seed, programs and outcome")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ibs.scenarios.fuzz_reach import REACH
    from ibs.scenarios.tasks import fuzz_batch

    if args.minutes <= 0 or args.steps < 1:
        raise BadInput("--minutes must be more than 0 and --steps at least 1")
    if args.batches is not None or args.jobs != 1 or args.cluster:
        return run_batches(args)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    REACH.reset()
    progress = _Progress(sys.stderr, quiet=level(args) == QUIET)
    end = time.monotonic() + args.minutes * 60
    failed: list[dict[str, Any]] = []
    programs = 0
    next_seed = seed
    while time.monotonic() < end:
        found = fuzz_batch(next_seed, args.fidelity, args.steps, BATCH, args.db)
        next_seed += 1
        programs += found["programs"]
        if level(args) >= VERBOSE:
            progress.clear()
            print(_batch_line(found), file=sys.stderr)
        if found["failure"]:
            failed.append(found)
            progress.clear()
            _print_failure(found)
        progress.show(programs, len(failed), REACH.summary())
    progress.done()
    return _finish(args, seed, next_seed - seed, programs, failed, REACH)


def run_batches(args: argparse.Namespace) -> int:
    """A campaign of a fixed number of batches, each a task; every failure with its replay."""
    from ibs.scenarios.fuzz_reach import Reach
    from ibs.scenarios.tasks import fuzz_batch
    from ibs.simulator import cluster

    cluster.check_options(args.jobs, args.cluster)
    if args.batches is None or args.batches < 1:
        raise BadInput("--jobs and --cluster need --batches N (N at least 1): a cluster campaign "
                       "is a fixed set of seeds")
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    # A remote worker's disk is not ours: there each batch keeps its examples in memory, and
    # the replay line (a seed) is what brings a failure home.
    db = args.db if args.cluster is None else None

    def report(_i: int, found: dict) -> None:
        if level(args) >= VERBOSE:
            print(_batch_line(found), file=sys.stderr)
        if found["failure"]:
            _print_failure(found)

    from rich.console import Console

    calls = [(seed + i, args.fidelity, args.steps, BATCH, db) for i in range(args.batches)]
    results = cluster.run_all(fuzz_batch, calls, jobs=args.jobs, address=args.cluster,
                              label="fuzz batches", on_result=report,
                              console=Console(stderr=True, highlight=False,
                                              quiet=level(args) == QUIET),
                              failed=lambda r: r["failure"] is not None)
    reach = Reach()
    for r in results:
        reach.merge(r.get("reach", {}))
    failed = [r for r in results if r["failure"]]
    return _finish(args, seed, args.batches, sum(r["programs"] for r in results), failed, reach)


def _print_failure(found: dict) -> None:
    print(f"\nseed {found['seed']}: {found['failure']}\n{found['program']}\n"
          f"replay: {found['replay']}", file=sys.stderr)


def _batch_line(found: dict) -> str:
    outcome = "broke an invariant" if found["failure"] else "every invariant held"
    return (f"batch seed {found['seed']}: {found['programs']} programs, {outcome}, "
            f"{len(found['reach'])} rare states reached")


def _finish(args: argparse.Namespace, seed: int, batches: int, programs: int,
            failed: list[dict[str, Any]], reach) -> int:
    if level(args) == QUIET:  # the misses are what to act on
        print("\n".join(line for line in reach.table().splitlines() if line.endswith("MISSED")))
    else:
        print(reach.table())
    last = seed + batches - 1
    replay = (f"ibs fuzz --seed {seed} --batches {batches} --fidelity {args.fidelity} "
              f"--steps {args.steps}")
    if failed:
        print(f"{len(failed)} of {batches} batches broke an invariant ({programs} programs, "
              f"{args.fidelity} fidelity, seeds {seed}..{last}); replay each:")
        for r in failed:
            print(f"  {r['replay']}")
        return 1
    print(f"{programs} programs ran ({args.fidelity} fidelity, seeds {seed}..{last}, "
          f"{BATCH} programs a seed); every invariant held\nreplay: {replay}")
    return 0


class _Progress:
    """Programs, failures and reach so far: a line rewritten on a terminal, else one line every
    ``PROGRESS_EVERY`` seconds (a log keeps a readable trace)."""

    def __init__(self, stream, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last = self.started
        self.shown = False

    def show(self, programs: int, failures: int, reach: str) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        rate = programs / max(now - self.started, 1e-9)
        line = (f"ibs fuzz: {programs} programs, {failures} failures, {reach} "
                f"({rate:.1f} programs/s, {now - self.started:.0f} s)")
        if self.tty:
            self.stream.write("\r" + line + "\033[K")
            self.stream.flush()
            self.shown = True
        elif now - self.last >= PROGRESS_EVERY:
            self.last = now
            print(line, file=self.stream, flush=True)

    def clear(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\r\033[K")
            self.shown = False

    def done(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\n")
            self.shown = False
