"""A simulated backup occupies its planned size to the real byte, at any scale.

The hub sizes each role's data (simulator/shape.py) so that what the real engine stores, manifest
and framing included, is exactly ``scale.to_real(modelled size)`` less a fixed margin for the
engine's space estimate (simulator/hub.py). These tests write real backups with the engine's own
writer and compare what it stored with the target.
"""

from __future__ import annotations

import functools
import uuid

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ibs.engine import keys
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.chunker import EntryStream, chunks_of
from ibs.simulator import scale, shape
from ibs.simulator.certificates import cert_pair
from ibs.simulator.growth import Growth
from ibs.simulator.memshare import MemoryShare, ShareStorage
from ibs.simulator.role_plan import ESTIMATE_SLACK
from ibs.simulator.roles import POOL_BYTES, ROLES, WEIGHTS, RoleSnapshot
from tests.simulator.conftest import finished

CHUNK = scale.SIM_CHUNK_SIZE


@functools.cache
def _cert():
    return load_certificate(cert_pair("shape")[0])


def write(snapshots: dict[str, RoleSnapshot], chunk_size: int = CHUNK,
          sources: dict | None = None) -> tuple[BackupWriter, ShareStorage]:
    storage = ShareStorage(capacity=2**40)
    share = MemoryShare(storage, "", "test", lambda op: None, lambda: True)
    writer = BackupWriter(share, _cert(), uuid.UUID(int=7), scale_time(), sources or snapshots,
                          chunk_size=chunk_size, info={"stampVersion": "1.2408.1.50"},
                          threads=False)
    for _ in writer.steps():
        pass
    return writer, storage


def scale_time():
    import datetime as dt

    return dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


@functools.cache
def framing(chunk_size: int = CHUNK) -> shape.Framing:
    snaps = {name: RoleSnapshot("cal", name, 0, 100, 1000) for name in ROLES}
    writer, _ = write(snaps, chunk_size)
    records = [o.record for o in writer.outcomes if o.record is not None]
    return shape.Framing.of(chunk_size, writer.stored_bytes - sum(r.storedBytes for r in records),
                            records)


roles_state = st.fixed_dictionaries({name: st.tuples(st.integers(0, 10**7), st.integers(1, 10**6))
                                     for name in ROLES})


@settings(max_examples=80, deadline=None)
@given(target=st.integers(12_000, 700_000), seed=st.text(max_size=4), state=roles_state)
def test_a_planned_backup_stores_exactly_its_target(target, seed, state):
    # Any size, any role states (their state files differ in length): short last chunks that
    # compress, numbers that gain a digit, streams that cross a chunk boundary.
    chunk_size = CHUNK
    fr = framing(chunk_size)
    versions = {name: RoleSnapshot(seed, name, v, o, 1) for name, (v, o) in state.items()}

    def saving(name: str, data_bytes: int) -> int:
        s = versions[name]
        return shape.last_chunk_saving(RoleSnapshot(seed, name, s.version, s.objects, data_bytes),
                                       chunk_size, fr.entry_bytes)

    data = shape.plan(target, fr, {n: s.state_size() for n, s in versions.items()}, WEIGHTS,
                      saving)
    snaps = {n: RoleSnapshot(seed, n, s.version, s.objects, data[n]) for n, s in versions.items()}
    writer, _ = write(snaps, chunk_size)
    assert writer.stored_bytes == target


@settings(max_examples=200)
@given(target=st.integers(0, 10**8), lengths=st.lists(st.integers(30, 130), min_size=10,
                                                       max_size=10))
def test_the_search_without_compression_gives_the_size_of_the_plan_it_found(target, lengths):
    # A plan where no last chunk compresses takes this size as its backup's, without sizing
    # the backup again (shape.plan).
    fr = shape.Framing(CHUNK, entry_bytes=180, fixed=1500)
    state = dict(zip(ROLES, lengths))
    found, _ = shape._uncompressed_plan(target, fr, tuple(state.items()),
                                        tuple(WEIGHTS.items()))
    if found is not None:
        pairs, got = found
        assert got == shape.size(fr, dict(pairs), state) <= target


@given(total=st.integers(0, 10**12),
       weights=st.dictionaries(st.text(min_size=1, max_size=3), st.integers(1, 100), min_size=1))
def test_apportion_splits_the_whole_total_in_proportion(total, weights):
    shares = shape.apportion(total, weights)
    whole = sum(weights.values())
    assert sum(shares.values()) == total
    # Each share is its exact proportion rounded down or up: never a byte further off.
    assert all(abs(shares[k] * whole - total * w) < whole for k, w in weights.items())


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(ROLES), version=st.integers(0, 10**7), objects=st.integers(1, 10**6),
       data_bytes=st.integers(1, 60_000), cut=st.integers(1, 70_000))
# A role over half the keystream pool has a keystream of its own (simulator/roles.py).
@example(name="CA", version=3, objects=100, data_bytes=POOL_BYTES // 2 + 100, cut=30_000)
@example(name="CA", version=3, objects=100, data_bytes=POOL_BYTES // 2 + 100, cut=10**8)
def test_a_roles_stream_tail_is_what_the_engine_chunks(name, version, objects, data_bytes, cut):
    snap = RoleSnapshot("t", name, version, objects, data_bytes)
    chunks = chunks_of(EntryStream(name, snap, []), lambda: bytearray(CHUNK))
    stream = b"".join(bytes(c.data) for c in chunks)
    n = min(cut, len(stream))
    assert snap.stream_tail(n) == stream[-n:]


def test_backups_of_a_growing_hub_are_their_modelled_size_to_the_real_byte(make_hub):
    # An ASDK (10 GB, a small role whose single chunk compresses) growing by 0.5 GB a day: each
    # backup is its modelled size in real bytes, less the margin left for the engine's estimate.
    from dataclasses import replace

    hub = make_hub(1)
    hub.profile = replace(hub.profile, growth=Growth(gb_per_day=0.5))
    expected = []
    hub.after_job.append(lambda record: expected.append(
        (record.sizeBytes, scale.to_real(hub.backup_bytes_now()) - ESTIMATE_SLACK)))
    hub.run(40)
    assert len(expected) == len(finished(hub)) == 79
    assert [got for got, _ in expected] == [want for _, want in expected]


def test_the_incompressible_hint_changes_no_byte_on_the_share(monkeypatch):
    # The same backup with and without the roles' hint (a source without the attribute):
    # the same role files, byte for byte, and the same manifest records.
    monkeypatch.setattr(keys, "new_data_key", lambda: bytes(range(32)))
    snaps = {name: RoleSnapshot("h", name, 3, 120, size)
             for name, size in zip(ROLES, (100, 3000, 12_000, 12_289, 16_000, 16_384, 40_000,
                                           70_000, 90_000, 5))}

    class Plain:  # the same items, and no hint
        def __init__(self, snap: RoleSnapshot) -> None:
            self.items, self.total_bytes = snap.items, snap.total_bytes

    hinted, a = write(snaps)
    plain, b = write(snaps, sources={n: Plain(s) for n, s in snaps.items()})
    roles_of = {p: bytes(d) for p, d in a.files.items() if "/roles/" in p}
    assert roles_of and roles_of == {p: bytes(d) for p, d in b.files.items() if "/roles/" in p}
    assert ([o.record for o in hinted.outcomes] == [o.record for o in plain.outcomes])
