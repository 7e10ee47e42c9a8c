"""The infrastructure roles: seeded state that tenants change, and the bytes a backup reads.

A role's state is a version counter and an object count; its data is generated from
(seed, role, version), so any captured state can be produced again to check a restore
without keeping a copy. The data's real size follows the scale model (simulator/scale.py).
"""

from __future__ import annotations

import hashlib
import json
import random


from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from engine.entries import Entry, Kind
from engine.source import SourceItem

ROLES = ("Domain", "CA", "WAS", "CRP", "SRP", "NRP", "KeyVault", "RBAC", "ECE", "ACS")
#: Each role's share of a backup's size (sums to 1): the storage service and ARM dominate.
WEIGHTS = {"ACS": 0.30, "WAS": 0.15, "CRP": 0.10, "SRP": 0.10, "NRP": 0.08, "ECE": 0.08,
           "KeyVault": 0.07, "Domain": 0.05, "RBAC": 0.05, "CA": 0.02}
_MTIME_BASE_NS = 1_767_225_600 * 10**9  # 2026-01-01


def _keystream(label: str, n: int) -> bytes:
    """n incompressible bytes determined by ``label``: AES-CTR, ~10x faster than randbytes."""
    key = hashlib.sha256(label.encode()).digest()
    return Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update(bytes(n))


@dataclass(frozen=True)
class RoleSnapshot:
    """One role's state at one moment: enough to regenerate its bytes exactly."""

    seed: str
    name: str
    version: int
    objects: int
    data_bytes: int  # real bytes of data/objects.bin

    def _state(self) -> bytes:
        return json.dumps({"role": self.name, "version": self.version, "objects": self.objects},
                          sort_keys=True).encode() + b"\n"

    def files(self) -> dict[str, bytes]:
        blob = _keystream(f"{self.seed}:{self.name}:{self.version}", self.data_bytes)
        return {"state.json": self._state(), "data/objects.bin": blob}

    def items(self) -> Iterator[SourceItem]:
        mtime = _MTIME_BASE_NS + self.version * 10**9
        files = self.files()
        yield SourceItem(Entry(Kind.DIR, b"", 0o750, mtime, 0))
        yield SourceItem(Entry(Kind.DIR, b"data", 0o750, mtime, 0))
        yield SourceItem(Entry(Kind.FILE, b"data/objects.bin", 0o640, mtime,
                               len(files["data/objects.bin"])),
                         open=lambda: BytesIO(files["data/objects.bin"]))
        yield SourceItem(Entry(Kind.FILE, b"state.json", 0o640, mtime, len(files["state.json"])),
                         open=lambda: BytesIO(files["state.json"]))

    def total_bytes(self) -> int:
        return self.data_bytes + len(self._state())


class RoleState:
    """A role whose objects tenants create and delete; its size grows with the hub."""

    def __init__(self, seed: str, name: str) -> None:
        self.seed = seed
        self.name = name
        self.version = 0
        self.objects = 100

    def change(self, rng: random.Random) -> None:
        self.version += 1
        self.objects = max(1, self.objects + rng.randint(-3, 10))

    def snapshot(self, backup_real_bytes: int) -> RoleSnapshot:
        return RoleSnapshot(self.seed, self.name, self.version, self.objects,
                            max(1, int(backup_real_bytes * WEIGHTS[self.name])))
