"""What a run keeps in a compact form answers every reader as the plain form it stands for.

A simulated year keeps thousands of samples, snapshots and records; each is kept as numbers or
tuples rather than as objects of its own (fewer objects for the garbage collector to count and
walk). Each test here runs the compact keeper and the plain one it replaced on the same inputs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.simulator.clock import TICKS_PER_SECOND
from ibs.simulator.meter import ShareMeter
from ibs.simulator.roles import ROLES, RoleSnapshot, RoleState
from ibs.simulator.snapshot_book import SnapshotBook

_samples = st.lists(st.tuples(st.integers(0, 10**14), st.integers(0, 2**62),
                              st.integers(0, 10**15)), max_size=60)


@settings(max_examples=300)
@given(_samples)
def test_the_meter_keeps_the_samples_peak_and_budget_a_plain_list_would(samples):
    meter = ShareMeter()
    occupancy, peak, peak_budget = [(0.0, 0)], 0, 0  # the plain meter, a tuple per sample
    at = 0
    for step, used, budget in samples:
        at += step
        meter.sample(at, used, lambda budget=budget: budget)
        if used > peak:
            peak, peak_budget = used, budget
        if used != occupancy[-1][1]:
            occupancy.append((at / TICKS_PER_SECOND, used))
    assert meter.occupancy == occupancy
    assert [type(s) for pair in meter.occupancy for s in pair] == [float, int] * len(occupancy)
    assert (meter.peak_bytes, meter.peak_budget_bytes) == (peak, peak_budget)


_roles = st.dictionaries(st.sampled_from(ROLES), st.tuples(st.integers(0, 40), st.integers(1, 500),
                                                           st.integers(1, 5000)), max_size=6)


def _answers(snapshot: RoleSnapshot) -> tuple:
    """What a restore or a test asks a snapshot."""
    return (snapshot.seed, snapshot.name, snapshot.version, snapshot.objects,
            snapshot.data_bytes, snapshot.files(), snapshot.total_bytes(),
            snapshot.stream_tail(snapshot.total_bytes() // 2),
            [item.entry for item in snapshot.items()])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), _roles), max_size=6),
       st.sampled_from(["1", "seed-2"]))
def test_the_snapshot_book_answers_as_the_snapshots_the_backups_read(backups, seed):
    book, plain = SnapshotBook(), {}  # the plain keeper: a dict of each backup's snapshots
    for backup_id, roles in backups:
        snapshots = {}
        for role, (version, objects, data_bytes) in roles.items():
            state = RoleState(seed, role)
            state.version, state.objects = version, objects
            snapshots[role] = state.snapshot(data_bytes)
        assert book.keep(backup_id, snapshots) == len(snapshots)
        plain[backup_id] = dict(snapshots)
    assert list(book) == list(plain) and len(book) == len(plain)
    for backup_id, snapshots in plain.items():
        assert backup_id in book
        kept = book[backup_id]
        assert list(kept) == list(snapshots)
        assert [_answers(s) for s in kept.values()] == [_answers(s) for s in snapshots.values()]
    assert "never kept" not in book and book.get("never kept") is None
