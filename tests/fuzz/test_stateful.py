"""The bounded CI campaign of the stateful fuzzer (scenarios/fuzz.py); `ibs fuzz` runs longer ones.

The sim campaign runs fixed seeds (the same commit runs the same programs, so a CI verdict can be
reproduced anywhere) until every row of the reach table has been reached, at most
``MAX_BATCHES`` batches: it fails on any broken invariant, and on any reach row missed, naming
it. Exploring new programs is the job of `ibs fuzz` (or of IBS_FUZZ_EXPLORE=1 here: random
seeds), which keeps hypothesis' example database for replays.
"""

from __future__ import annotations

import os
import random

from hypothesis import HealthCheck, settings

from ibs.scenarios.fuzz import WireHubMachine
from ibs.scenarios.fuzz_reach import ROWS, Reach
from ibs.scenarios.tasks import fuzz_batch

MAX_BATCHES = int(os.environ.get("IBS_FUZZ_BATCHES", "40"))
PROGRAMS = 10  # per batch
STEPS = 25
EXPLORE = os.environ.get("IBS_FUZZ_EXPLORE") == "1"


def test_sim_campaign_holds_every_invariant_and_reaches_every_row():
    first = random.SystemRandom().getrandbits(32) if EXPLORE else 0
    reach = Reach()
    for seed in range(first, first + MAX_BATCHES):
        found = fuzz_batch(seed, "sim", STEPS, PROGRAMS, None)
        assert found["failure"] is None, (f"{found['failure']}\n{found['program']}\n"
                                          f"replay: {found['replay']}")
        reach.merge(found["reach"])
        if not reach.missed():
            break
    assert not reach.missed(), (f"the campaign ({MAX_BATCHES} batches of {PROGRAMS} programs "
                                f"from seed {first}) never reached: {', '.join(reach.missed())}"
                                f"\n{reach.table()}")
    assert set(reach.counts) == set(ROWS)


TestHubWire = WireHubMachine.TestCase
TestHubWire.settings = settings(max_examples=int(os.environ.get("IBS_FUZZ_WIRE_PROGRAMS", "8")),
                                stateful_step_count=12, deadline=None,
                                suppress_health_check=list(HealthCheck), derandomize=not EXPLORE)
