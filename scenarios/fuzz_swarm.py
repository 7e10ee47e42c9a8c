"""Swarm testing: each fuzz program runs with a random subset of the faults and operator actions.

With every rule always on, a program of 25 steps spreads them thin: the combinations where bugs
hide (a crash at a phase while credentials are wrong, a full share under a retention change)
come up rarely and briefly. Drawing, per program, which rules exist at all (a coin per feature,
from the program's own data, so a seed replays and a failure shrinks to fewer features) gives
the rare mixes long runs (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's VOPR).
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition

#: The world's faults, each a rule of the state machine.
FAULTS = ("block_445", "name_resolution", "ercs", "share_space", "server_password",
          "server_encryption", "server_dialect", "tamper", "sustained_fault", "crash", "crash_at",
          "maintenance_at_slot")
#: The operator's actions.
ACTIONS = ("on_demand", "frequency", "retention", "scheduler", "rotate_certificate",
           "operator_credentials", "recover", "job_in_flight")
#: Checks that take virtual time (liveness waits two periods), in the swarm so they get a share
#: of the steps like any rule, not a fixed one whatever else the program does.
CHECKS = ("liveness",)
FEATURES = FAULTS + ACTIONS + CHECKS


def swarms() -> st.SearchStrategy[frozenset[str]]:
    """A coin per feature: shrinking turns coins off, so a failure names the features it needs."""
    return st.lists(st.booleans(), min_size=len(FEATURES), max_size=len(FEATURES)).map(
        lambda coins: frozenset(f for f, on in zip(FEATURES, coins, strict=True) if on))


def enabled(feature: str):
    """A precondition: the rule runs only in programs whose swarm includes ``feature``."""
    if feature not in FEATURES:
        raise KeyError(f"{feature!r} is not a swarm feature (scenarios/fuzz_swarm.py)")
    return precondition(lambda machine: feature in machine.swarm)
