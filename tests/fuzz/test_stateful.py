"""The bounded CI campaign of the stateful fuzzer (scenarios/fuzz.py); `ibs fuzz` runs longer ones."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from ibs.scenarios.fuzz import HubMachine, WireHubMachine

PROGRAMS = int(os.environ.get("IBS_FUZZ_PROGRAMS", "200"))

# The CI campaign is derandomized: the same commit runs the same programs, so a CI verdict can be
# reproduced on any machine. Exploring new programs is the job of `ibs fuzz` (and of setting
# IBS_FUZZ_EXPLORE=1 here), which keeps hypothesis' example database for replays.
EXPLORE = os.environ.get("IBS_FUZZ_EXPLORE") == "1"

TestHubSim = HubMachine.TestCase
TestHubSim.settings = settings(max_examples=PROGRAMS, stateful_step_count=25, deadline=None,
                               suppress_health_check=list(HealthCheck), derandomize=not EXPLORE)

TestHubWire = WireHubMachine.TestCase
TestHubWire.settings = settings(max_examples=max(4, PROGRAMS // 25), stateful_step_count=12,
                                deadline=None, suppress_health_check=list(HealthCheck),
                                derandomize=not EXPLORE)
