"""The writer's two paths, pipelined in threads and inline (the simulator's), store the same
bytes: the same records in each role file, the same role records, the same progress steps."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from pathlib import Path
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine import certs, keys
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.share import LocalShare
from ibs.engine.source import DirectorySource
from tests.engine.golden.vectors import SHARE

ID = uuid.UUID("3f2c6a43-0a55-4b8e-9d3e-6d2f0c1b7a10")
CHUNK = 4096
CERT = certs.load_certificate(Path(SHARE.parent / "TEST-ONLY-golden.cer").read_bytes())


def _write(src: Path, share: Path, threads: bool):
    sources = {role: DirectorySource(src / role) for role in sorted(os.listdir(src))}
    writer = BackupWriter(LocalShare(share), CERT, ID, dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                          sources, chunk_size=CHUNK, threads=threads)
    steps = [(p.role, p.done_bytes, p.total_bytes) for p in writer.steps()]
    files = {p.relative_to(share).as_posix(): p.read_bytes()
             for p in sorted(share.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    return steps, [o.record for o in writer.outcomes], writer.stored_bytes, files


@settings(max_examples=15, deadline=None)
@given(roles=st.lists(st.lists(st.integers(0, 3 * CHUNK + 5), min_size=0, max_size=3),
                      min_size=1, max_size=3),
       compressible=st.booleans())
def test_inline_and_pipelined_writes_store_the_same_bytes(roles, compressible):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for r, sizes in enumerate(roles):
            folder = root / "src" / f"R{r}"
            folder.mkdir(parents=True)
            for i, n in enumerate(sizes):
                data = bytes(n) if compressible else os.urandom(n)
                (folder / f"f{i}.bin").write_bytes(data)
        results = []
        for threads in (False, True):
            share = root / f"share-{threads}"
            share.mkdir()
            with patch.object(keys, "new_data_key", lambda: bytes(range(32))):
                results.append(_write(root / "src", share, threads))
        inline, pipelined = results
        assert inline == pipelined
        assert inline[3]  # the role files were compared, not two empty sets
