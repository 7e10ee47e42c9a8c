"""``ibs fuzz``: a long stateful fuzzing campaign, for nightly use.

Runs the state machine of scenarios/fuzz.py in batches until the time is up, keeping
hypothesis' example database (``--db``) so a failure found tonight replays first tomorrow.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from ibs.engine.errors import BadInput

BATCH = 25


def register(sub) -> None:
    p = sub.add_parser("fuzz", help="stateful fuzzing of the engine in a simulated hub")
    p.add_argument("--minutes", type=float, default=10, metavar="N")
    p.add_argument("--seed", type=int, metavar="N", help="start from this seed (default: random)")
    p.add_argument("--fidelity", choices=("sim", "wire"), default="sim")
    p.add_argument("--steps", type=int, default=40, metavar="N", help="rules per program")
    p.add_argument("--db", default=".ibs-fuzz-db", metavar="DIR",
                   help="hypothesis' example database (failures replay from here)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import hypothesis.core
    from hypothesis import HealthCheck, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.stateful import run_state_machine_as_test

    from ibs.scenarios.fuzz import HubMachine, WireHubMachine

    if args.minutes <= 0 or args.steps < 1:
        raise BadInput("--minutes must be more than 0 and --steps at least 1")
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
        hypothesis.core.global_force_seed = batch_seed
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
