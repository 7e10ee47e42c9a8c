"""SmbWriter coalesces the engine's records into full-size requests, and loses no byte."""

from __future__ import annotations

import contextlib
import os

from hypothesis import given
from hypothesis import strategies as st

from engine.share.smb_io import SmbWriter


class _Wire:
    where = r"\\host\share"
    dead = None

    @contextlib.contextmanager
    def call(self, what, timeout=None):
        yield


class _Handle:
    def __init__(self) -> None:
        self.writes: list[tuple[int, bytes]] = []
        self.closed = False

    def write(self, data: bytes, offset: int) -> int:
        self.writes.append((offset, data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self, get_attributes: bool) -> None:
        self.closed = True


def writer(chunk: int) -> tuple[SmbWriter, _Handle]:
    handle = _Handle()
    return SmbWriter(_Wire(), handle, "f", chunk, lambda n: None), handle


def test_records_of_a_chunk_plus_framing_become_full_size_requests():
    w, handle = writer(1024)
    records = [os.urandom(1024 + 24) for _ in range(3)]
    for r in records:
        w.write(r)
    w.close()
    assert [len(d) for _, d in handle.writes] == [1024, 1024, 1024, 72]
    assert b"".join(d for _, d in handle.writes) == b"".join(records)
    assert [o for o, _ in handle.writes] == [0, 1024, 2048, 3072] and handle.closed


@given(st.lists(st.binary(max_size=5000), max_size=30), st.sampled_from([512, 4096, 70_000]))
def test_any_writes_arrive_whole_and_in_order(parts, chunk):
    w, handle = writer(chunk)
    for p in parts:
        assert w.write(p) == len(p)
    w.close()
    assert b"".join(d for _, d in handle.writes) == b"".join(parts)
    offsets = [o for o, _ in handle.writes]
    assert offsets == sorted(offsets)
    assert all(len(d) <= chunk for _, d in handle.writes)
