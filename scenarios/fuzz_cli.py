"""``ibs fuzz``: a long stateful fuzzing campaign, for nightly use.

Runs the state machine of scenarios/fuzz.py in batches until the time is up, keeping
hypothesis' example database (``--db``) so a failure found tonight replays first tomorrow.

``--batches N`` runs exactly N batches instead, seeds SEED..SEED+N-1: in this process, or on
a Dask cluster (``--jobs``, ``--cluster``; docs/SCALING.md), where every batch is a task and an
invariant that breaks comes back with its minimal program and replay line.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from ibs.engine.errors import BadInput
from ibs.simulator.cluster import add_options as add_cluster_options

BATCH = 25


def register(sub) -> None:
    p = sub.add_parser("fuzz", help="stateful fuzzing of the engine in a simulated hub")
    p.add_argument("--minutes", type=float, default=10, metavar="N")
    p.add_argument("--seed", type=int, metavar="N", help="start from this seed (default: random)")
    p.add_argument("--fidelity", choices=("sim", "wire"), default="sim")
    p.add_argument("--steps", type=int, default=40, metavar="N", help="rules per program")
    p.add_argument("--db", default=".ibs-fuzz-db", metavar="DIR",
                   help="hypothesis' example database (failures replay from here)")
    p.add_argument("--batches", type=int, metavar="N",
                   help=f"run exactly N batches of {BATCH} programs (seeds SEED..SEED+N-1) "
                        "instead of until --minutes are up; needed with --jobs and --cluster")
    add_cluster_options(p, "batches")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hypothesis.core
    from hypothesis import HealthCheck, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.stateful import run_state_machine_as_test

    from ibs.scenarios.fuzz import HubMachine, WireHubMachine

    if args.minutes <= 0 or args.steps < 1:
        raise BadInput("--minutes must be more than 0 and --steps at least 1")
    if args.batches is not None or args.jobs != 1 or args.cluster:
        return run_batches(args)
    machine = WireHubMachine if args.fidelity == "wire" else HubMachine
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    config = settings(max_examples=BATCH, stateful_step_count=args.steps, deadline=None,
                      database=DirectoryBasedExampleDatabase(args.db),
                      suppress_health_check=list(HealthCheck))
    end = time.monotonic() + args.minutes * 60
    programs = 0
    started = time.monotonic()
    batch_seed = seed
    while time.monotonic() < end:
        # hypothesis has no public per-call seed for run_state_machine_as_test; its pytest
        # plugin sets this same module variable for --hypothesis-seed.
        hypothesis.core.global_force_seed = batch_seed  # type: ignore[assignment]  # hypothesis declares it None-only
        try:
            run_state_machine_as_test(machine, settings=config)
        except Exception:
            print(f"\nibs fuzz: an invariant broke (the minimal program is above).\n"
                  f"replay: ibs fuzz --seed {batch_seed} --fidelity {args.fidelity} "
                  f"--steps {args.steps} --db {args.db}", file=sys.stderr)
            raise
        finally:
            hypothesis.core.global_force_seed = None
        programs += BATCH
        batch_seed += 1
        rate = programs / (time.monotonic() - started)
        print(f"ibs fuzz: {programs} programs, no invariant broken ({rate:.1f} programs/s)",
              file=sys.stderr)
    print(f"{programs} programs ran ({args.fidelity} fidelity, seeds {seed}..{batch_seed - 1}); "
          "every invariant held")
    return 0


def run_batches(args: argparse.Namespace) -> int:
    """A campaign of a fixed number of batches, each a task; every failure with its replay."""
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
        if found["failure"]:
            print(f"\nseed {found['seed']}: {found['failure']}\n{found['program']}\n"
                  f"replay: {found['replay']}", file=sys.stderr)

    calls = [(seed + i, args.fidelity, args.steps, BATCH, db) for i in range(args.batches)]
    results = cluster.run_all(fuzz_batch, calls, jobs=args.jobs, address=args.cluster,
                              label="fuzz batches", on_result=report,
                              failed=lambda r: r["failure"] is not None)
    failed = [r for r in results if r["failure"]]
    programs = sum(r["programs"] for r in results)
    last = seed + args.batches - 1
    if failed:
        print(f"{len(failed)} of {args.batches} batches broke an invariant "
              f"({args.fidelity} fidelity, seeds {seed}..{last}); replay:")
        for r in failed:
            print(f"  {r['replay']}")
        return 1
    print(f"{programs} programs ran ({args.fidelity} fidelity, seeds {seed}..{last}); "
          "every invariant held")
    return 0
