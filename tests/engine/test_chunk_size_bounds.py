"""The chunk sizes a backup may use are FORMAT.md's, 4 KiB to 16 MiB inclusive: a reader takes
both ends and refuses one byte beyond either (a surviving mutant made the top 16 KiB)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ibs.engine.errors import IntegrityError
from ibs.engine.manifest import Manifest, RoleRecord, parse

KEY = b"m" * 32
MiB = 1024 * 1024


def _manifest(chunk_size: int) -> bytes:
    m = Manifest(backupId=uuid.UUID(int=5), createdDateTime=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                 encryptionCertThumbprint="A" * 40, wrappedKey=b"\x01" * 256,
                 chunkSize=chunk_size,
                 roles=(RoleRecord(name="CA", file="roles/CA.ibsr", plaintextBytes=100,
                                   storedBytes=200, chunks=1, sha256="ab" * 32, entries=3,
                                   fileBytes=50),))
    return m.to_bytes(KEY)


@pytest.mark.parametrize("size", [4096, 4 * MiB, 16 * MiB])
def test_a_chunk_size_within_the_bounds_is_read(size):
    assert parse(_manifest(size)).verify(KEY).chunkSize == size


@pytest.mark.parametrize("size", [4095, 16 * MiB + 1, 0])
def test_a_chunk_size_beyond_the_bounds_is_refused(size):
    with pytest.raises(IntegrityError, match=f"chunk size {size} is out of bounds"):
        parse(_manifest(size))
