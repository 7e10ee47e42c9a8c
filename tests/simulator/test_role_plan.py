"""A hub's role planner remembers what it worked out (the search without compression, what
compression saves on a role's last chunk); what it plans must be what a fresh planner plans,
whatever the roles did in between."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.simulator import scale, shape
from ibs.simulator.role_plan import RolePlan
from ibs.simulator.roles import ROLES, RoleState

FRAMING = shape.Framing(scale.SIM_CHUNK_SIZE, entry_bytes=180, fixed=1500)


def _plan(planner: RolePlan, now: int, modelled: int) -> dict[str, int]:
    return {name: planner.snapshot(name, now, lambda: modelled).data_bytes for name in ROLES}


def _fresh(roles: dict[str, RoleState], now: int, modelled: int) -> dict[str, int]:
    planner = RolePlan(roles)
    planner.calibrate(FRAMING)
    return _plan(planner, now, modelled)


# Each step: (modelled MB of the backup, which roles the tenants change before it).
steps = st.lists(st.tuples(st.integers(1, 40), st.sets(st.sampled_from(ROLES), max_size=3)),
                 min_size=2, max_size=6)


@settings(max_examples=25, deadline=None)
@given(steps=steps, seed=st.integers(0, 9))
def test_a_planner_that_remembers_plans_as_a_fresh_one(steps, seed):
    roles = {name: RoleState(str(seed), name) for name in ROLES}
    planner = RolePlan(roles)
    planner.calibrate(FRAMING)
    for now, (mb, changed) in enumerate(steps):
        for name in sorted(changed):
            roles[name].version += 1
            roles[name].objects += 7
        modelled = mb * 2**20 * scale.MODELLED_PER_REAL // 64
        assert _plan(planner, now, modelled) == _fresh(roles, now, modelled)


def test_what_compression_saves_is_asked_again_for_a_role_whose_state_changed(monkeypatch):
    # Real tails of one size compress alike whatever the state, so the planner is given a
    # saving that depends on the role's version: a memo that ignored the state would reuse
    # the old saving, and plan the role's data differently from a fresh planner.
    def saving(snapshot, chunk_size: int, entry_bytes: int) -> int:
        return 3 * (snapshot.version % 5)

    monkeypatch.setattr(shape, "last_chunk_saving", saving)
    roles = {name: RoleState("1", name) for name in ROLES}
    planner = RolePlan(roles)
    planner.calibrate(FRAMING)
    modelled = 10 * 2**20 * scale.MODELLED_PER_REAL // 64
    first = _plan(planner, 0, modelled)
    for name in ROLES:
        roles[name].version += 1
    second = _plan(planner, 1, modelled)
    assert second == _fresh(roles, 1, modelled)
    assert second != first


def test_what_compression_saves_is_asked_again_once_the_framing_changes(monkeypatch):
    # A role's last chunk is placed by the framing's entry bytes: the saving depends on them
    # here. The second framing moves bytes from the manifest to each role's entry stream, so
    # the plan without compression is the same and each role is asked of the same snapshot:
    # a memo kept across framings would answer with the first framing's saving.
    def saving(snapshot, chunk_size: int, entry_bytes: int) -> int:
        return entry_bytes % 7

    monkeypatch.setattr(shape, "last_chunk_saving", saving)
    roles = {name: RoleState("1", name) for name in ROLES}
    moved = shape.Framing(FRAMING.chunk_size, FRAMING.entry_bytes + 3,
                          FRAMING.fixed - 3 * len(ROLES))
    modelled = 10 * 2**20 * scale.MODELLED_PER_REAL // 64
    planner = RolePlan(roles)
    planner.calibrate(FRAMING)
    first = _plan(planner, 0, modelled)
    planner.calibrate(moved)
    second = _plan(planner, 1, modelled)
    fresh = RolePlan(roles)
    fresh.calibrate(moved)
    assert second == _plan(fresh, 1, modelled)
    assert second != first
