"""Server-side copy (FSCTL_SRV_REQUEST_RESUME_KEY, FSCTL_SRV_COPYCHUNK[_WRITE]) as Samba
answers it (smbtorture smb2.ioctl.copy_chunk_*), driven through smbprotocol."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.ioctl import SMB2IOCTLRequest
from smbprotocol.open import FilePipePrinterAccessMask

from tests.fake_smb.raw_requests import open_file

RESUME_KEY, COPYCHUNK, COPYCHUNK_WRITE = 0x00140078, 0x001440F2, 0x001480F2
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_INVALID_VIEW_SIZE = 0xC000001F
STATUS_DISK_FULL = 0xC000007F
MIB = 1024 * 1024
LIMITS = (256, MIB, 16 * MIB)  # as Samba and Windows answer them
READ_DATA, WRITE_DATA, EXECUTE, READ_ATTRIBUTES = 0x1, 0x2, 0x20, 0x80


@pytest.fixture
def tree(clients):
    return clients.login().tree


def ioctl(handle, code: int, data: bytes = b"", max_output: int = 65536) -> tuple[int, bytes]:
    """(status, output) of an FSCTL; an error may carry output too."""
    req = SMB2IOCTLRequest()
    req.fields["ctl_code"].enum_strict = False  # smbprotocol knows only some FSCTLs
    req["ctl_code"] = code
    req["file_id"] = handle.file_id
    req["max_output_response"] = max_output
    req["flags"] = 1  # SMB2_0_IOCTL_IS_FSCTL
    req["buffer"] = data
    tree = handle.tree_connect
    conn = tree.session.connection
    try:
        response = conn.receive(conn.send(req, sid=tree.session.session_id, tid=tree.tree_connect_id))
    except SMBResponseException as exc:
        response = exc.header
    body = response["data"].get_value()
    if len(body) < 48:  # an SMB2 ERROR body: no output
        return response["status"].get_value(), b""
    offset, count = struct.unpack_from("<II", body, 32)
    return response["status"].get_value(), body[offset - 64: offset - 64 + count]


def key_of(handle) -> bytes:
    status, out = ioctl(handle, RESUME_KEY, max_output=32)
    assert status == 0 and len(out) == 32
    return out[:24]


def copy(dest, key: bytes, chunks, code: int = COPYCHUNK, max_output: int = 12):
    """(status, (chunks written, chunk bytes written, total bytes written) or None)."""
    data = struct.pack("<24sI4x", key, len(chunks))
    data += b"".join(struct.pack("<QQI4x", s, t, n) for s, t, n in chunks)
    status, out = ioctl(dest, code, data, max_output)
    return status, struct.unpack("<III", out) if len(out) == 12 else None


def make(share, tree, name: str, content: bytes, access: int = FilePipePrinterAccessMask.GENERIC_ALL):
    (share / name).write_bytes(content)
    return open_file(tree, name, access)


def pattern(size: int, seed: int) -> bytes:
    """Bytes that differ from their neighbours, so a misplaced copy shows."""
    return bytes((seed + i * 7) % 251 for i in range(size))


@st.composite
def copies(draw):
    """A source, a destination and chunks scaled to them, so that chunks reaching past the
    source's end, leaving gaps and overlapping (within one file) are common."""
    source = pattern(draw(st.integers(1, 4096)), draw(st.integers(0, 250)))
    dest = pattern(draw(st.integers(0, 2048)), draw(st.integers(0, 250)))
    reach = len(source) + 64
    chunk = st.tuples(st.integers(0, reach), st.integers(0, reach + len(dest)), st.integers(1, reach))
    return source, dest, draw(st.lists(chunk, min_size=1, max_size=6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=copies(), same_file=st.booleans())
def test_chunks_copy_the_bytes_in_order_and_stop_at_the_source_end(tree, share, case, same_file):
    source, dest, chunks = case
    src = make(share, tree, "src.bin", source)
    dst = src if same_file else make(share, tree, "dst.bin", dest)
    expected = bytearray(source if same_file else dest)
    done = total = 0
    for s, t, n in chunks:  # the model: each chunk read whole, then written
        piece = bytes((expected if same_file else source)[s:s + n])
        if len(piece) < n:
            break
        if t > len(expected):
            expected.extend(bytes(t - len(expected)))  # a gap reads back as zeros
        expected[t:t + n] = piece
        done, total = done + 1, total + n
    status, answer = copy(dst, key_of(src), chunks)
    assert status == (0 if done == len(chunks) else STATUS_INVALID_VIEW_SIZE)
    assert answer == (done, 0, total)
    assert (share / ("src.bin" if same_file else "dst.bin")).read_bytes() == bytes(expected)
    src.close()
    if not same_file:
        dst.close()


def test_a_copy_within_one_file_reads_each_chunk_before_writing_it(tree, share):
    original = pattern(4096, 3)
    handle = make(share, tree, "one.bin", original)
    # The target starts 8 bytes before the source range ends (smbtorture src_is_dest_overlap).
    assert copy(handle, key_of(handle), [(0, 2040, 2048)]) == (0, (1, 0, 2048))
    assert (share / "one.bin").read_bytes() == original[:2040] + original[:2048] + original[4088:]


@pytest.mark.parametrize("chunks", [
    [(0, 0, 1)] * 257,                 # more chunks than 256
    [(0, 0, MIB + 1)],                 # one chunk over 1 MiB
    [(0, i * MIB, MIB) for i in range(17)],  # 17 MiB in all
    [(0, 0, 0)],                       # a chunk of nothing
])
def test_requests_past_the_limits_are_refused_with_the_limits(tree, share, chunks):
    src = make(share, tree, "src.bin", b"s" * 4096)
    dst = make(share, tree, "dst.bin", b"")
    assert copy(dst, key_of(src), chunks) == (STATUS_INVALID_PARAMETER, LIMITS)
    assert (share / "dst.bin").read_bytes() == b""


def test_a_key_no_open_of_the_session_was_given_is_object_name_not_found(tree, share, clients):
    src = make(share, tree, "src.bin", b"s" * 100)
    dst = make(share, tree, "dst.bin", b"")
    assert copy(dst, b"deadbeefdeadbeefdeadbeef", [(0, 0, 100)])[0] == STATUS_OBJECT_NAME_NOT_FOUND
    other = open_file(clients.login().tree, "src.bin")  # another session's open
    assert copy(dst, key_of(other), [(0, 0, 100)])[0] == STATUS_OBJECT_NAME_NOT_FOUND
    assert copy(dst, key_of(src), [(0, 0, 100)]) == (0, (1, 0, 100))


def test_a_resume_key_belongs_to_one_open(tree, share):
    first = make(share, tree, "a.bin", b"a")
    second = open_file(tree, "a.bin")
    assert key_of(first) == key_of(first) != key_of(second)
    assert ioctl(first, RESUME_KEY, max_output=31)[0] == STATUS_INVALID_PARAMETER


@pytest.mark.parametrize("src_access, dst_access, code, expected", [
    (WRITE_DATA | READ_ATTRIBUTES, READ_DATA | WRITE_DATA, COPYCHUNK, STATUS_ACCESS_DENIED),
    (EXECUTE | READ_ATTRIBUTES, READ_DATA | WRITE_DATA, COPYCHUNK, 0),
    (READ_DATA, READ_DATA | EXECUTE, COPYCHUNK, STATUS_ACCESS_DENIED),
    (READ_DATA, WRITE_DATA | EXECUTE, COPYCHUNK, STATUS_ACCESS_DENIED),
    (READ_DATA, WRITE_DATA | EXECUTE, COPYCHUNK_WRITE, 0),
])
def test_access_each_side_needs(tree, share, src_access, dst_access, code, expected):
    src = make(share, tree, "src.bin", b"s" * 100, src_access)
    dst = make(share, tree, "dst.bin", b"", dst_access)
    assert copy(dst, key_of(src), [(0, 0, 100)], code)[0] == expected
    assert (share / "dst.bin").read_bytes() == (b"s" * 100 if expected == 0 else b"")


@pytest.mark.parametrize("chunk", [(1 << 63, 0, 100), (0, (1 << 64) - 50, 100)])
def test_offsets_past_any_file_are_invalid_parameter(tree, share, chunk):
    src = make(share, tree, "src.bin", b"s" * 100)
    dst = make(share, tree, "dst.bin", b"")
    assert copy(dst, key_of(src), [(0, 0, 100), chunk]) == (STATUS_INVALID_PARAMETER, (1, 0, 100))
    assert copy(dst, key_of(src), [(0, 100, 100)]) == (0, (1, 0, 100))  # the connection lives on


def test_max_output_below_the_answer_is_invalid_parameter(tree, share):
    src = make(share, tree, "src.bin", b"s" * 100)
    dst = make(share, tree, "dst.bin", b"")
    assert copy(dst, key_of(src), [(0, 0, 100)], max_output=11) == (STATUS_INVALID_PARAMETER, None)
    assert (share / "dst.bin").read_bytes() == b""


def test_the_quota_holds_for_copies(tree, share, server):
    src = make(share, tree, "src.bin", b"s" * 8192)
    dst = make(share, tree, "dst.bin", b"")
    server.quota_bytes = 8192 + 4096
    assert copy(dst, key_of(src), [(0, 0, 4096), (0, 4096, 4096)]) == (STATUS_DISK_FULL, (1, 0, 4096))


def test_smbclient_copyfile_copies_on_the_server(smb, share):
    data = os.urandom(3 * MIB + 12345)
    (share / "big.bin").write_bytes(data)
    smb.copyfile(smb.path("big.bin"), smb.path("copy.bin"))
    assert (share / "copy.bin").read_bytes() == data


@pytest.mark.parametrize("locked", ["source", "destination"])
def test_a_chunk_over_another_opens_lock_is_a_lock_conflict(tree, share, locked):
    """smbtorture copy_chunk_src_lock / dest_lock: a chunk reads and writes as READ and WRITE
    do, so another open's exclusive lock over either range stops it, and the earlier chunks
    stand."""
    from tests.fake_smb.test_locks_wire import EX, FI, STATUS_FILE_LOCK_CONFLICT, lock

    src = make(share, tree, "src.bin", pattern(8192, 1))
    dst = make(share, tree, "dst.bin", b"\0" * 8192)
    other = open_file(tree, f"{'src' if locked == 'source' else 'dst'}.bin",
                      FilePipePrinterAccessMask.GENERIC_ALL)
    assert lock(other, (4096, 100, EX | FI)) == 0
    status, answer = copy(dst, key_of(src), [(0, 0, 4096), (4096, 4096, 4096)])
    assert status == STATUS_FILE_LOCK_CONFLICT
    assert answer == (1, 0, 4096)
    assert (share / "dst.bin").read_bytes() == pattern(8192, 1)[:4096] + b"\0" * 4096
