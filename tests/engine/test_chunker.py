"""A role's entry stream, read chunk by chunk, is the stream docs/FORMAT.md describes, cut as it
says: every chunk but the last exactly the chunk size, the last one flagged final (full when the
stream's length is a multiple of the chunk size, never empty). Both of the writer's paths, inline
and threaded, store the records a plain reference makes: the whole stream built in memory, cut,
then sealed chunk by chunk.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ibs.engine import certs, chunks, keys, layout
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.chunker import EntryStream, chunks_of
from ibs.engine.entries import END, STREAM_MAGIC, Entry, Kind, pack_entry
from ibs.engine.errors import SourceError
from ibs.engine.manifest import role_file
from ibs.engine.share import LocalShare
from ibs.engine.source import SourceItem
from tests.engine.golden.vectors import SHARE

CHUNK = chunks.MIN_CHUNK_SIZE
ID = uuid.UUID("0b6f4d1e-8f4e-4f0c-9a55-2f3a1c7e9d21")
CERT = certs.load_certificate(Path(SHARE.parent / "TEST-ONLY-golden.cer").read_bytes())
DATA_KEY = bytes(range(32))


class _Reader:
    """A file as a source hands it out: ``data``, in reads of at most ``step`` bytes."""

    def __init__(self, data: bytes, step: int, log: list[str]) -> None:
        self._f = io.BytesIO(data)
        self._step = step
        self._log = log

    def __enter__(self) -> Self:
        self._log.append("open")
        return self

    def __exit__(self, *exc: object) -> None:
        self._log.append("close")

    def readinto(self, b: memoryview) -> int:
        return self._f.readinto(memoryview(b)[: self._step])


@dataclass
class _Source:
    """Items as the spec lists them: (kind, size, shrink, step). A file's entry claims ``size``
    bytes and its reader has ``size - shrink``; a symlink's target is ``size`` bytes."""

    spec: list[tuple[str, int, int, int]]
    root: bool = True

    def __post_init__(self) -> None:
        self.log: list[str] = []

    def contents(self, i: int) -> bytes:
        return bytes((i * 7 + j) % 251 for j in range(self.spec[i][1]))

    def items(self):
        if self.root:
            yield SourceItem(Entry(Kind.DIR, b"", 0o755, 1, 0))
        for i, (kind, size, shrink, step) in enumerate(self.spec):
            path = f"e{i:03d}".encode()
            if kind == "dir":
                yield SourceItem(Entry(Kind.DIR, path, 0o750, i, 0))
            elif kind == "symlink":
                yield SourceItem(Entry(Kind.SYMLINK, path, 0o777, i, size), target=b"t" * size)
            else:
                data = self.contents(i)[: max(0, size - shrink)]
                yield SourceItem(Entry(Kind.FILE, path, 0o640, i, size),
                                 open=lambda d=data, s=step: _Reader(d, s, self.log))

    def total_bytes(self) -> int:
        return sum(size for kind, size, _s, _t in self.spec if kind == "file")


def reference_stream(source: _Source) -> bytes:
    """The entry stream by docs/FORMAT.md, built whole: a file shrunk is padded with zeros."""
    out = bytearray(STREAM_MAGIC)
    count = 0
    for item in source.items():
        out += pack_entry(item.entry)
        if item.entry.kind is Kind.FILE:
            with item.open() as f:
                data = f._f.getvalue()
            out += data + bytes(item.entry.size - len(data))
        elif item.entry.kind is Kind.SYMLINK:
            out += item.target
        count += 1
    return bytes(out + END.pack(Kind.END, count))


def reference_chunks(stream: bytes, size: int) -> list[tuple[bytes, bool]]:
    """The final-chunk rule: full chunks, the last flagged final; a stream whose length is a
    multiple of ``size`` ends with a full final chunk, never an empty one."""
    pieces = [stream[i : i + size] for i in range(0, len(stream), size)]
    return [(p, i == len(pieces) - 1) for i, p in enumerate(pieces)]


def _stream_length(spec, root: bool) -> int:
    return len(reference_stream(_Source(spec, root)))


@st.composite
def sources(draw) -> _Source:
    """Item lists whose streams end near a multiple of the chunk size, exactly on one often."""
    kinds = st.sampled_from(("dir", "file", "file", "symlink"))
    spec = []
    for kind in draw(st.lists(kinds, max_size=6)):
        if kind == "symlink":
            spec.append((kind, draw(st.integers(1, 200)), 0, 1))
        elif kind == "file":
            size = draw(st.one_of(st.integers(0, 3 * CHUNK),
                                  st.integers(1, 3).map(lambda k: k * CHUNK)))
            spec.append((kind, size, draw(st.sampled_from((0, 0, 1, 100, size))),
                         draw(st.sampled_from((CHUNK * 4, 1000, 7)))))
        else:
            spec.append((kind, 0, 0, 1))
    root = draw(st.booleans())  # without it, an empty role has no entries at all
    # Move the stream's end onto a multiple of the chunk size, or just around one, by sizing
    # the last file (the case the final-chunk rule is about).
    files = [i for i, s in enumerate(spec) if s[0] == "file" and s[2] == 0]
    if files and draw(st.booleans()):
        i = files[-1]
        length = _stream_length(spec, root)
        target = (length // CHUNK + 1) * CHUNK + draw(st.sampled_from((0, 0, -1, 1, -2, 2)))
        kind, size, shrink, step = spec[i]
        spec[i] = (kind, max(0, size + target - length), shrink, step)
    return _Source(spec, root)


# Streams of exactly one and two chunks (67 bytes besides the file's: the magic, two headers,
# the end record), one of them with a file that shrank, and an empty role.
EXACT = [_Source([("file", CHUNK - 67, 0, 7)]), _Source([("file", 2 * CHUNK - 67, 100, 1000)]),
         _Source([], root=False)]


def test_the_exact_examples_are_what_they_claim():
    assert [len(reference_stream(s)) for s in EXACT] == [CHUNK, 2 * CHUNK, 17]


@settings(max_examples=60, deadline=None)
@given(sources())
@example(EXACT[0])
@example(EXACT[1])
@example(EXACT[2])
def test_the_stream_read_chunk_by_chunk_is_the_reference_cut(source):
    stream = reference_stream(source)
    source.log.clear()  # the reference opened every file too
    warnings: list[str] = []
    got = [(bytes(c.data), c.final, c.index)
           for c in chunks_of(EntryStream("CA", source, warnings),
                              lambda: bytearray(b"\xaa" * CHUNK))]  # lent buffers hold old bytes
    expected = reference_chunks(stream, CHUNK)
    assert [(d, f) for d, f, _i in got] == expected
    assert [i for _d, _f, i in got] == list(range(len(expected)))
    shrunk = [i for i, (kind, size, shrink, _s) in enumerate(source.spec)
              if kind == "file" and shrink and size]
    assert warnings == [f"{f'e{i:03d}'.encode()!r} shrank while being read; padded with zeros"
                        for i in shrunk]
    assert source.log == ["open", "close"] * sum(k == "file" for k, *_ in source.spec)


def _write(source: _Source, threads: bool, share_dir: Path):
    writer = BackupWriter(LocalShare(share_dir), CERT, ID, dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                          {"CA": source}, chunk_size=CHUNK, threads=threads)
    with patch.object(keys, "new_data_key", lambda: DATA_KEY):
        steps = [(p.role, p.done_bytes, p.total_bytes) for p in writer.steps()]
    (outcome,) = writer.outcomes
    data = (share_dir / layout.backup_dir(ID) / role_file("CA")).read_bytes()
    return steps, outcome.record, outcome.warnings, data


def _reference_records(source: _Source) -> bytes:
    prk = keys.extract(DATA_KEY, ID)
    sealer = chunks.ChunkSealer(keys.expand(prk, "role/CA"), ID, "CA")
    out = bytearray(chunks.max_record_size(CHUNK))
    records = b""
    for index, (data, final) in enumerate(reference_chunks(reference_stream(source), CHUNK)):
        records += out[: sealer.seal_into(index, memoryview(data), final, out)]
    return records


@settings(max_examples=25, deadline=None)
@given(sources())
@example(EXACT[0])
@example(EXACT[1])
@example(EXACT[2])
def test_inline_and_threaded_writers_store_the_reference_records(source):
    with tempfile.TemporaryDirectory() as tmp:
        results = [_write(source, threads, Path(tmp, str(threads))) for threads in (False, True)]
    assert results[0] == results[1]
    _steps, record, _warnings, data = results[0]
    assert data == _reference_records(source)
    assert record.plaintextBytes == len(reference_stream(source))
    assert record.entries == source.root + len(source.spec)
    assert record.fileBytes == source.total_bytes()


class _Failing(_Source):
    """A source whose ``fail_at``-th file read fails, or whose path is too long for the format."""

    def __init__(self, spec, fail: str) -> None:
        super().__init__(spec)
        self.fail = fail

    def items(self):
        for item in super().items():
            if item.open is not None and self.fail == "read":
                def failing(opener=item.open):
                    reader = opener()
                    reader.readinto = self._broken
                    return reader
                item = SourceItem(item.entry, open=failing)
            yield item
        if self.fail == "path":
            yield SourceItem(Entry(Kind.DIR, b"x" * 0x10000, 0o755, 0, 0))

    def _broken(self, b: memoryview) -> int:
        raise OSError(5, "Input/output error", "data.bin")


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize(("fail", "message"), [
    ("read", "role CA: cannot read source data: Input/output error ('data.bin')"),
    ("path", "role CA: path too long for the entry stream: "),
])
def test_a_source_failure_fails_the_role_and_closes_its_file(tmp_path, threads, fail, message):
    source = _Failing([("file", 3 * CHUNK, 0, CHUNK)], fail)
    writer = BackupWriter(LocalShare(tmp_path), CERT, ID, dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                          {"CA": source}, chunk_size=CHUNK, threads=threads)
    list(writer.steps())
    (outcome,) = writer.outcomes
    assert outcome.record is None and outcome.error is not None
    assert outcome.error.startswith(message)
    assert source.log == ["open", "close"]
    with pytest.raises(SourceError):
        EntryStream("CA", _Failing([], "path"), []).readinto(memoryview(bytearray(CHUNK)))


def test_a_stream_left_before_its_end_closes_its_file():
    source = _Source([("file", 3 * CHUNK, 0, CHUNK)])
    stream = EntryStream("CA", source, [])
    stream.readinto(memoryview(bytearray(CHUNK)))
    assert source.log == ["open"] and not stream.done
    stream.close()
    assert source.log == ["open", "close"]


@settings(max_examples=40, deadline=None)
@given(sources())
# The bytes before the failing item fill one chunk exactly, the last of them a folder's header;
# or a folder's header crosses into the next chunk (its own bytes then wait for room).
@example(_Source([("file", CHUNK - 85, 0, CHUNK), ("dir", 0, 0, 1)]))
@example(_Source([("file", CHUNK - 75, 0, CHUNK), ("dir", 0, 0, 1)]))
def test_the_chunks_handed_out_before_a_failing_item_are_those_before_it(source):
    # Work that copies nothing (taking an item, packing its header) is done as soon as the
    # bytes before it are in, as the writer always did: an item that fails does so before a
    # chunk its predecessors filled exactly is handed out (a job's progress counts them).
    failing = _Failing(source.spec, "path")
    before = len(reference_stream(_Source(source.spec))) - END.size
    handed = []
    with pytest.raises(SourceError):
        for chunk in chunks_of(EntryStream("CA", failing, []), lambda: bytearray(CHUNK)):
            handed.append(chunk.length)
    assert len(handed) == (before - 1) // CHUNK
