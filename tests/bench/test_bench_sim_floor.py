"""``ibs bench sim --profile`` says how much of the hub's time is the work that grows with data."""

from __future__ import annotations

import cProfile
import hashlib

from ibs.reports.bench.sim_bench import DATA_PRIMITIVES, data_floor


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
    from ibs.simulator.roles import RoleSnapshot

    snap = RoleSnapshot("1", "CA", 1, 100, 300_000)

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
