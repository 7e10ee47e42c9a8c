"""A role's data read by a backup is byte for byte what the role's snapshot says it holds.

Recovery checks compare a restore with ``files()``; the backup reads through ``items()``. Any
difference between the two would be a simulated world that lies about what it backed up.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.entries import Entry, Kind
from ibs.simulator.roles import ROLES, RoleSnapshot


def read_all(f, sizes: list[int]) -> bytes:
    out = bytearray()
    i = 0
    while True:
        size = sizes[i % len(sizes)]
        # Readers are handed memoryviews by the engine and bytearrays by others.
        buf = memoryview(bytearray(size)) if i % 2 else bytearray(size)
        i += 1
        n = f.readinto(buf)
        if not n:
            return bytes(out)
        out += buf[:n]


@settings(max_examples=80, deadline=None)
@given(seed=st.text(max_size=5), name=st.sampled_from(ROLES), version=st.integers(0, 10**6),
       objects=st.integers(1, 10**4), data_bytes=st.integers(0, 300_000),
       sizes=st.lists(st.integers(1, 100_000), min_size=1, max_size=5))
def test_items_read_what_files_hold(seed, name, version, objects, data_bytes, sizes):
    snap = RoleSnapshot(seed, name, version, objects, data_bytes)
    files = snap.files()
    got = {}
    for item in snap.items():
        if item.entry.kind is Kind.FILE:
            assert item.open is not None
            with item.open() as f:
                got[item.entry.path.decode()] = read_all(f, sizes)
            assert item.entry.size == len(got[item.entry.path.decode()])
    assert got == files
    assert snap.total_bytes() == sum(map(len, files.values()))


def test_each_version_has_its_own_data():
    a, b = (RoleSnapshot("1", "CA", v, 100, 5000).files()["data/objects.bin"] for v in (1, 2))
    assert a != b and len(a) == len(b) == 5000


def test_a_role_over_half_the_pool_reads_what_files_hold():
    # Such a role's data has a keystream of its own rather than a slice of the seed's pool.
    from ibs.simulator.roles import POOL_BYTES

    snap = RoleSnapshot("7", "ACS", 3, 100, POOL_BYTES // 2 + 1000)
    (item,) = [i for i in snap.items() if i.entry.kind is Kind.FILE and i.entry.size > 100]
    with item.open() as f:
        got = read_all(f, [65536, 1000])
    assert got == snap.files()["data/objects.bin"] and len(got) == POOL_BYTES // 2 + 1000


def test_the_same_snapshot_always_has_the_same_data_and_others_differ_from_the_first_byte():
    from ibs.simulator import roles

    def data(seed, version):
        return RoleSnapshot(seed, "WAS", version, 100, 200_000).files()["data/objects.bin"]

    first = data("1", 4)
    roles._pool.cache_clear()  # made again from the seed alone
    assert data("1", 4) == first
    for other in (data("1", 5), data("2", 4)):
        assert other[:32] != first[:32] and other[32:] != first[32:]


@given(name=st.one_of(st.sampled_from(ROLES), st.text(max_size=12)),
       version=st.integers(0, 10**12), objects=st.integers(-10, 10**9))
def test_a_roles_state_file_is_its_sorted_json(name, version, objects):
    import json

    snap = RoleSnapshot("s", name, version, objects, 1)
    assert snap.files()["state.json"] == json.dumps(
        {"role": name, "version": version, "objects": objects}, sort_keys=True).encode() + b"\n"


def _read(snap: RoleSnapshot) -> list[tuple[object, bytes]]:
    out = []
    for item in snap.items():
        data = b""
        if item.open is not None:
            with item.open() as f:
                data = read_all(f, [7000])
        out.append((item.entry, data))
    return out


# A few states and sizes of two roles, so that steps repeat each other's in any order.
_states = st.tuples(st.sampled_from(["CA", "WAS"]), st.integers(0, 2), st.integers(1, 2),
                    st.sampled_from([1, 40, 5000, 20_000]))


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_states, min_size=2, max_size=8))
def test_a_snapshot_reads_alike_whatever_was_snapshotted_before(steps):
    # What every snapshot of a state shares is made once per state (its folders and state
    # file's entry once per version and length, whatever the role), and its items once per
    # size: a snapshot must read as one made with nothing kept, its entries stamped with its
    # own state's version.
    from ibs.simulator import roles

    for name, version, objects, data_bytes in steps:
        snap = RoleSnapshot("k", name, version, objects, data_bytes)
        got = (snap.files(), _read(snap), snap.total_bytes(), snap.stream_tail(10**6))
        mtime = (1_767_225_600 + version) * 10**9
        assert [entry for entry, _ in got[1]] == [
            Entry(Kind.DIR, b"", 0o750, mtime, 0), Entry(Kind.DIR, b"data", 0o750, mtime, 0),
            Entry(Kind.FILE, b"data/objects.bin", 0o640, mtime, data_bytes),
            Entry(Kind.FILE, b"state.json", 0o640, mtime, snap.state_size())]
        roles._parts.cache_clear()
        roles._folders.cache_clear()
        roles._state_entry.cache_clear()
        fresh = RoleSnapshot("k", name, version, objects, data_bytes)
        assert got == (fresh.files(), _read(fresh), fresh.total_bytes(), fresh.stream_tail(10**6))


@given(seed=st.integers(0, 2**32), changes=st.integers(1, 200))
def test_a_role_changes_as_a_draw_of_randint_from_minus_3_to_10_says(seed, changes):
    # A change draws randrange(14) less 3 (fewer calls than randint): the same draws from the
    # same stream, or a hub's roles would grow differently from the same seed.
    import random

    from ibs.simulator.roles import RoleState

    role, rng, plain, objects = RoleState("s", "CA"), random.Random(seed), random.Random(seed), 100
    for _ in range(changes):
        role.change(rng)
        objects = max(1, objects + plain.randint(-3, 10))
        assert role.objects == objects
    assert rng.random() == plain.random()


def test_a_kept_snapshot_neither_pins_its_states_parts_nor_reads_differently_without_them():
    # A snapshot may be kept long after its backup: were each to hold its state's parts
    # (items, entries, openers), the hub's keeping them all grew a long run's heap by some
    # 60,000 objects a simulated year for every full collection to walk. Parts that went are
    # made again.
    from ibs.simulator import roles

    snap = RoleSnapshot("k", "ACS", 3, 7, 20_000)
    before = (snap.files(), _read(snap), snap.total_bytes(), snap.stream_tail(10**6))
    roles._parts.cache_clear()
    # Gone at once, without a collection: nothing of the parts refers back to them (their
    # data file's opener once did, and only the cyclic collector could free them).
    assert snap._ref() is None
    assert (snap.files(), _read(snap), snap.total_bytes(), snap.stream_tail(10**6)) == before
