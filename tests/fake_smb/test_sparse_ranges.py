"""Random writes, zeroings and sparse flag changes on one file: what it reads and what
QUERY_ALLOCATED_RANGES says of it.

Against fake_smb alone, the answers are held to what holds on any file system: the file reads
as a plain model of it; the ranges are in order, apart, inside the range asked and the file;
every byte of data lies in one; a file that is not sparse is one range. Against Samba
(marked ``samba``), the same steps must give the same statuses, data and ranges, to the byte:
both servers keep their files on the same file system here.
"""

from __future__ import annotations

import os
import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.fake_smb import sparse_fsctl
from tests.fake_smb.conftest import Clients
from tests.fake_smb.raw_requests import query_info
from tests.fake_smb.test_sparse import STATUS_SUCCESS, create, ranges, set_sparse, zero

FILE_STANDARD = 5
BLOCK = 4096
LIMIT = 24 * BLOCK  # offsets stay below, lengths too: files of up to 48 blocks

# Offsets both on block boundaries and off them, where partial blocks show.
offsets = st.one_of(st.integers(0, LIMIT // BLOCK).map(lambda n: n * BLOCK), st.integers(0, LIMIT))
lengths = st.one_of(st.integers(0, 8).map(lambda n: n * BLOCK), st.integers(0, LIMIT))
# Sparse from the start half the time, so that zeroings of data in a sparse file are common.
steps = st.tuples(st.sampled_from([("sparse", True), ("sparse", False)]), st.lists(st.one_of(
    st.tuples(st.just("write"), offsets, st.integers(1, 3 * BLOCK), st.integers(1, 255)),
    st.tuples(st.just("zero"), offsets, lengths),
    st.tuples(st.just("sparse"), st.booleans()),
    st.tuples(st.just("query"), offsets, lengths),
), min_size=1, max_size=12)).map(lambda pair: [pair[0], *pair[1]])


def run(tree, plan) -> list:
    """Carry out the steps on a new file; what each answered, and the file's content."""
    handle = create(tree, f"ranges-{uuid.uuid4().hex[:8]}.dat")
    seen = []
    for step in plan:
        if step[0] == "write":
            _, offset, length, byte = step
            handle.write(bytes([byte]) * length, offset)
            seen.append(None)
        elif step[0] == "zero":
            seen.append(zero(handle, step[1], step[1] + step[2]))
        elif step[0] == "sparse":
            seen.append(set_sparse(handle, b"\x01" if step[1] else b"\x00"))
        else:
            seen.append(ranges(handle, step[1], step[2], max_output=65536))
    seen.append(ranges(handle, 0, 1 << 40, max_output=65536))
    seen.append(content_of(handle))
    return seen


def content_of(handle) -> bytes:
    size = struct.unpack_from("<Q", query_info(handle, 1, FILE_STANDARD)[1], 8)[0]
    return b"".join(handle.read(offset, min(65536, size - offset)) for offset in range(0, size, 65536))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_ranges_cover_the_data_and_only_the_file(clients, plan):
    tree = clients.login().tree
    content = bytearray()
    sparse = False
    seen = run(tree, plan)
    for step, answer in zip(plan, seen, strict=False):
        if step[0] == "write":
            _, offset, length, byte = step
            content.extend(bytes(max(0, offset + length - len(content))))
            content[offset : offset + length] = bytes([byte]) * length
        elif step[0] == "zero":
            assert answer == STATUS_SUCCESS
            offset, length = step[1], step[2]
            content[offset : offset + length] = bytes(len(content[offset : offset + length]))
        elif step[0] == "sparse":
            assert answer == STATUS_SUCCESS
            sparse = step[1]
        else:
            check_ranges(answer, step[1], step[2], content, sparse)
    check_ranges(seen[-2], 0, 1 << 40, content, sparse)
    assert seen[-1] == bytes(content)  # zeroing never moves the end of file


def check_ranges(answer, offset: int, length: int, content: bytearray, sparse: bool) -> None:
    status, found = answer
    assert status == STATUS_SUCCESS
    end = min(offset + length, len(content))
    if not sparse:
        assert found == ([(offset, end - offset)] if offset < end else [])
        return
    position = offset
    for start, size in found:
        assert size > 0 and start >= position and start + size <= end, found
        position = start + size
    for index in range(offset, end):
        if content[index]:
            assert any(start <= index < start + size for start, size in found), (index, found)


@pytest.mark.samba
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_fake_smb_answers_as_samba(clients, samba_peer, plan):
    peers = Clients(samba_peer)
    try:
        assert run(clients.login().tree, plan) == run(peers.login().tree, plan)
    finally:
        peers.close()


@pytest.mark.parametrize("how", ["fallocate", "zeros"])  # zeros: a file system that cannot punch
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=lengths, offset=offsets, length=lengths)
def test_a_punched_range_reads_zero_and_the_size_stays(tmp_path, monkeypatch, how, size, offset, length):
    if how == "zeros":
        monkeypatch.setattr(sparse_fsctl, "_fallocate", None)
    path = tmp_path / uuid.uuid4().hex
    path.write_bytes(b"\x01" * size)
    fd = os.open(path, os.O_RDWR)
    try:
        sparse_fsctl.punch_hole(fd, offset, length)
    finally:
        os.close(fd)
    kept = bytearray(b"\x01" * size)
    kept[offset : offset + length] = bytes(len(kept[offset : offset + length]))
    assert path.read_bytes() == bytes(kept)
