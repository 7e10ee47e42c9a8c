"""``ibs bench sim --profile`` says how much of the hub's time is the work that grows with data."""

from __future__ import annotations

import cProfile
import hashlib

from ibs.scenarios.bench.sim_bench import DATA_PRIMITIVES, data_floor


def _busy() -> None:
    h = hashlib.sha256()
    for _ in range(200):
        h.update(bytes(256 * 1024))
    sum(i * i for i in range(20_000))  # Python work, outside the floor


def test_the_floor_counts_the_named_primitives_and_nothing_else() -> None:
    prof = cProfile.Profile()
    prof.runcall(_busy)
    floor_s, total_s, parts = data_floor(prof)
    assert set(parts) == set(DATA_PRIMITIVES)
    assert parts["sha256 of each role file"] > 0
    assert floor_s == sum(parts.values()) and 0 < floor_s < total_s
    assert all(v == 0 for k, v in parts.items() if k != "sha256 of each role file")


def test_role_data_generation_counts_however_the_keystream_is_taken() -> None:
    from ibs.simulator.roles import RoleSnapshot, _pool

    # A seed's keystream pool is made on first use (and kept): made here, inside the profile.
    _pool.cache_clear()
    snap = RoleSnapshot("floor-test", "CA", 1, 100, 300_000)

    def read() -> None:
        for item in snap.items():
            if item.open is not None:
                with item.open() as f:
                    buf = memoryview(bytearray(65536))
                    while f.readinto(buf):
                        pass

    prof = cProfile.Profile()
    prof.runcall(read)
    assert data_floor(prof)[2]["role data generation (AES-CTR)"] > 0


def test_the_writer_share_is_the_time_inside_the_engines_backup_writer() -> None:
    import uuid

    from ibs.engine.backup_writer import BackupWriter
    from ibs.engine.certs import load_certificate
    from ibs.scenarios.bench.sim_bench import writer_share
    from ibs.simulator.certificates import cert_pair
    from ibs.simulator.clock import SIM_EPOCH
    from ibs.simulator.memshare import MemoryShare, ShareStorage
    from ibs.simulator.roles import RoleSnapshot

    cert = load_certificate(cert_pair("floor")[0])
    share = MemoryShare(ShareStorage(2**30), "", "s", lambda op: None, lambda: True)
    writer = BackupWriter(share, cert, uuid.UUID(int=1), SIM_EPOCH,
                          {"CA": RoleSnapshot("1", "CA", 1, 100, 200_000)}, chunk_size=65536,
                          threads=False)

    def run() -> None:
        for _ in writer.steps():
            pass
        _busy()  # outside the writer

    prof = cProfile.Profile()
    prof.runcall(run)
    inside = writer_share(prof)
    total = data_floor(prof)[1]
    assert writer.stored_bytes > 200_000
    assert 0 < inside < total
