"""The threaded stages (backup: read -> seal; restore: read -> open): same output as inline,
errors surface in the caller in order, and leaving early leaves no thread behind."""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ibs.engine.backup_reader import BackupReader
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.chunker import Chunk
from ibs.engine.entries import FileData
from ibs.engine.pipeline import beside, sealed_records, staged
from ibs.engine.restore import restore_roles
from ibs.engine.share.local import LocalShare
from ibs.engine.source import DirectorySource

from .conftest import T0

CHUNK = 4096


def _stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ibs-")]


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert _stage_threads() == []


# --- engine.pipeline.staged -------------------------------------------------------------


@dataclass
class _Item:
    n: int
    buffer: bytearray


def _produce(count: int, fail_at: int | None = None):
    def produce(acquire):
        for n in range(count):
            if n == fail_at:
                raise ValueError(f"read failed at {n}")
            buf = acquire()
            buf[:4] = n.to_bytes(4, "big")
            yield _Item(n, buf)
    return produce


def _transform(fail_at: int | None = None):
    def transform(item: _Item, out: bytearray) -> bytes:
        if item.n == fail_at:
            raise ValueError(f"open failed at {item.n}")
        out[:4] = item.buffer[:4]
        return bytes(out[:4]) * 2
    return transform


@pytest.mark.parametrize("threads", [False, True])
def test_staged_yields_every_result_in_order(threads):
    got = []
    for item, result, release in staged(_produce(50), _transform(), 64, 64, threads):
        got.append((item.n, result))
        release()
    assert got == [(n, n.to_bytes(4, "big") * 2) for n in range(50)]


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("where", ["read", "open"])
def test_staged_errors_surface_after_the_results_before_them(threads, where):
    produce = _produce(50, fail_at=7 if where == "read" else None)
    transform = _transform(fail_at=7 if where == "open" else None)
    seen = []
    with pytest.raises(ValueError, match=f"{where} failed at 7"):
        for item, _result, release in staged(produce, transform, 64, 64, threads):
            seen.append(item.n)
            release()
    assert seen == list(range(7))


def test_staged_closed_early_stops_its_threads():
    gen = staged(_produce(10_000), _transform(), 64, 64, threads=True)
    for _ in range(3):
        next(gen)
    assert _stage_threads()
    gen.close()
    assert _stage_threads() == []


# --- engine.pipeline.sealed_records (backup) ---------------------------------------------------


def _chunks(count: int, fail_at: int | None = None):
    def chunks(acquire):
        for i in range(count):
            if i == fail_at:
                raise OSError("source failed")
            buf = acquire()
            buf[:8] = i.to_bytes(8, "big")
            yield Chunk(i, buf, 8, final=i == count - 1)
    return chunks


def _seal(fail_at: int | None = None):
    def seal(chunk: Chunk, out: bytearray) -> int:
        if chunk.index == fail_at:
            raise RuntimeError("seal failed")
        out[:8] = chunk.data
        out[8:16] = bytes(chunk.data)[::-1]
        return 16
    return seal


def test_sealed_records_threads_match_inline():
    outs = []
    for threads in (False, True):
        records = []
        for r in sealed_records(_chunks(40), _seal(), 64, 64, threads):
            records.append((r.chunk_index, r.plain_length, bytes(r.view)))
            r.release()
        outs.append(records)
    assert outs[0] == outs[1] and len(outs[0]) == 40


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("stage", ["read", "seal"])
def test_sealed_records_errors_surface(threads, stage):
    chunks = _chunks(40, fail_at=5 if stage == "read" else None)
    seal = _seal(fail_at=5 if stage == "seal" else None)
    seen = []
    with pytest.raises(OSError if stage == "read" else RuntimeError):
        for r in sealed_records(chunks, seal, 64, 64, threads):
            seen.append(r.chunk_index)
            r.release()
    assert seen == list(range(5))


def test_sealed_records_closed_early_stops_its_threads():
    gen = sealed_records(_chunks(10_000), _seal(), 64, 64, threads=True)
    next(gen).release()
    assert _stage_threads()
    gen.close()
    assert _stage_threads() == []



# --- engine.pipeline.beside (backup hashes a record while writing it) ----------------------


@pytest.mark.parametrize("threads", [False, True])
def test_beside_runs_the_work_in_order_and_wait_means_done(threads):
    import hashlib

    pieces = [os.urandom(n) for n in range(0, 20_000, 997)]
    digest = hashlib.sha256()
    done: list[int] = []

    def work(view: memoryview) -> None:
        digest.update(view)
        done.append(len(view))

    with beside(work, threads) as start:
        for piece in pieces:
            wait = start(memoryview(piece))
            wait()
            assert done[-1] == len(piece)  # after wait(), this piece's work is over
    assert digest.digest() == hashlib.sha256(b"".join(pieces)).digest()
    assert _stage_threads() == []


@pytest.mark.parametrize("threads", [False, True])
def test_beside_work_that_fails_raises_from_wait(threads):
    def work(view: memoryview) -> None:
        raise OSError(5, "the work failed")

    with pytest.raises(OSError, match="the work failed"), beside(work, threads) as start:
        start(memoryview(b"x"))()

# --- the reader and restore, threaded vs inline -----------------------------------------------


def _backup(tmp_path: Path, cert_pair, files: dict[str, bytes]) -> tuple[LocalShare, uuid.UUID]:
    src = tmp_path / "src"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    share_dir = tmp_path / "share"
    share_dir.mkdir()
    share = LocalShare(share_dir)
    backup_id = uuid.uuid4()
    writer = BackupWriter(share, load_certificate(cert_pair.cer), backup_id, T0,
                          {"CA": DirectorySource(src)}, chunk_size=CHUNK, threads=True)
    list(writer.steps())
    assert writer.outcomes[0].ok
    return share, backup_id


def _events(reader: BackupReader, threads: bool) -> list[object]:
    return [bytes(e.data) if isinstance(e, FileData) else e
            for e in reader.events("CA", threads=threads)]


def test_reader_threads_match_inline_and_restore_is_identical(tmp_path, cert_pair):
    files = {f"f{i}": os.urandom(3000 * i) + b"xyz" * 2000 for i in range(12)}
    share, backup_id = _backup(tmp_path, cert_pair, files)
    reader = BackupReader(share, backup_id)
    reader.unlock(cert_pair.key)
    assert _events(reader, False) == _events(reader, True)
    for threads in (False, True):
        out = tmp_path / f"out-{threads}"
        restore_roles(reader, ["CA"], str(out), threads=threads)
        for name, data in files.items():
            assert (out / "CA" / name).read_bytes() == data


@pytest.mark.parametrize("threads", [False, True])
def test_reader_reports_a_flipped_byte_whichever_path(tmp_path, cert_pair, threads):
    share, backup_id = _backup(tmp_path, cert_pair, {"f": os.urandom(10 * CHUNK)})
    role_file = next((tmp_path / "share").rglob("*.ibsr"))
    data = bytearray(role_file.read_bytes())
    data[5 * CHUNK] ^= 1
    role_file.write_bytes(bytes(data))
    reader = BackupReader(share, backup_id)
    reader.unlock(cert_pair.key)
    from ibs.engine.errors import IntegrityError

    with pytest.raises(IntegrityError, match="does not authenticate"):
        restore_roles(reader, ["CA"], str(tmp_path / "out"), threads=threads)
    assert not (tmp_path / "out" / "CA").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


def test_reader_dropped_midway_stops_its_threads(tmp_path, cert_pair):
    share, backup_id = _backup(tmp_path, cert_pair, {"f": os.urandom(50 * CHUNK)})
    reader = BackupReader(share, backup_id)
    reader.unlock(cert_pair.key)
    events = reader.events("CA", threads=True)
    for _ in range(5):
        next(events)
    assert _stage_threads()
    events.close()
    assert _stage_threads() == []


class _SlowSha256:
    """SHA-256 that takes its time over each piece: a stage that reuses a buffer before its
    bytes are hashed would change them under the hash."""

    def __init__(self) -> None:
        import hashlib

        self._h = hashlib.sha256()

    def update(self, data: bytes | memoryview) -> None:
        import time

        time.sleep(0.002)
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def digest(self) -> bytes:
        return self._h.digest()


def test_buffers_are_reused_only_once_hashed_beside_the_stages(tmp_path, cert_pair, monkeypatch):
    import types

    from ibs.engine import backup_reader, backup_writer

    files = {f"f{i}": os.urandom(5 * CHUNK + 17 * i) for i in range(6)}
    slow = types.SimpleNamespace(sha256=_SlowSha256)
    monkeypatch.setattr(backup_writer, "hashlib", slow)
    share, backup_id = _backup(tmp_path, cert_pair, files)
    monkeypatch.setattr(backup_reader, "hashlib", slow)
    reader = BackupReader(share, backup_id)
    reader.unlock(cert_pair.key)
    for _event in reader.events("CA", threads=True):  # as verify reads: the digest holds
        pass
    out = tmp_path / "out"
    restore_roles(reader, ["CA"], str(out), threads=True)
    for name, data in files.items():
        assert (out / "CA" / name).read_bytes() == data
