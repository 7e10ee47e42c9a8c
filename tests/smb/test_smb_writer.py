"""SmbWriter coalesces the engine's records into full-size requests, and loses no byte."""

from __future__ import annotations

import contextlib
import os

from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.share.smb_io import SmbWriter


class _Wire:
    where = r"\\host\share"
    dead = None

    @contextlib.contextmanager
    def call(self, what, timeout=None):
        yield


class _Connection:
    supports_multi_credit = True
    sequence_lock = contextlib.nullcontext()
    sequence_window = {"low": 0, "high": 10_000}

    def __init__(self, handle) -> None:
        self.handle = handle
        self.in_flight = 0
        self.most_in_flight = 0

    def send(self, message, session_id, tree_id):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return message


class _Handle:
    """smbprotocol's Open as SmbWriter uses it: write(send=False), then connection.send."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, bytes]] = []
        self.closed = False
        self.connection = _Connection(self)
        self.tree_connect = type("Tree", (), {"session": type("S", (), {"session_id": 1})(),
                                              "tree_connect_id": 2})()

    def write(self, data: bytes, offset: int, send: bool = True):
        assert not send
        return (offset, data), self._receive

    def _receive(self, request) -> int:
        self.connection.in_flight -= 1
        self.writes.append(request)
        return len(request[1])

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
    assert handle.connection.most_in_flight == 2  # the next request travels during the last


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
