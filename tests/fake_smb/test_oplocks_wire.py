"""Oplocks over the wire, two smbprotocol clients against fake_smb: what CREATE grants, the
break notification a conflicting open sends and waits on, the acknowledgment, the timeout,
and an oplock's end with its open or its connection."""

from __future__ import annotations

import queue
import struct
import uuid

import pytest
from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import PASSWORD, USER, Clients
from tests.fake_smb.oplock_client import (
    BATCH,
    EXCLUSIVE,
    LEVEL_II,
    NONE,
    acknowledge,
    catch_breaks,
    create,
    create_later,
)
from tests.fake_smb.raw_requests import SHARE_ALL, set_info
from tests.fake_smb.relay import RecordingRelay, frames, transforms
from tests.fake_smb.test_locks_wire import lock

SMB2_OPLOCK_BREAK = 0x12
STATUS_SUCCESS = 0
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_SHARING_VIOLATION = 0xC0000043
STATUS_INVALID_OPLOCK_PROTOCOL = 0xC00000E3
STATUS_FILE_CLOSED = 0xC0000128
LEASE = 0xFF
EXCLUSIVE_LOCK = 0x12  # SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY
NOT_YET = 0.5  # how long an open that must wait is given to (wrongly) answer anyway
PATIENT = 60.0  # a break timeout no test reaches


def _server(share, timeout: float, encryption: str = "desired"):
    srv = FakeSmbServer(share, users={USER: PASSWORD}, oplock_break_timeout=timeout, encryption=encryption)
    srv.start()
    return srv


@pytest.fixture
def pair(share):
    """Two logged-on clients (a: the holder, whose breaks are caught; b) on a server whose
    breaks do not time out within a test."""
    srv = _server(share, PATIENT)
    c = Clients(srv)
    try:
        a, b = c.login(), c.login()
        yield a, b, catch_breaks(a.connection)
    finally:
        c.close()
        srv.stop()


def _break(breaks: queue.Queue):
    command, session_id, file_id, level = breaks.get(timeout=10)
    assert command == SMB2_OPLOCK_BREAK and session_id == 0  # as smbd sends it
    return file_id, level


def test_grant_levels(pair):
    a, b, _ = pair
    assert create(a.tree, "stat", BATCH, access=0x80).oplock_level == BATCH  # attributes only
    # Beside a BATCH it did not break (it only reads attributes), no cache at all.
    assert create(b.tree, "stat", BATCH, access=0x80).oplock_level == NONE
    assert create(a.tree, "batch", BATCH).oplock_level == BATCH
    assert create(a.tree, "excl", EXCLUSIVE).oplock_level == EXCLUSIVE
    assert create(a.tree, "two", LEVEL_II).oplock_level == LEVEL_II
    assert create(a.tree, "lease", LEASE).oplock_level == NONE  # no leasing offered
    assert create(a.tree, "dir", BATCH, options=CreateOptions.FILE_DIRECTORY_FILE).oplock_level == NONE
    create(a.tree, "shared", NONE)
    assert create(b.tree, "shared", BATCH).oplock_level == LEVEL_II


def test_conflicting_open_breaks_the_batch_holder_and_waits_for_its_ack(pair):
    a, b, breaks = pair
    held = create(a.tree, "f", BATCH)
    waiting = create_later(b.tree, "f", BATCH)
    assert _break(breaks) == (held.file_id, LEVEL_II)
    assert waiting(NOT_YET) is None  # held until the holder answers
    assert acknowledge(a.tree, held.file_id, LEVEL_II) == (STATUS_SUCCESS, LEVEL_II)
    assert waiting().oplock_level == LEVEL_II
    assert breaks.empty()


def test_a_holder_on_the_same_connection_can_answer(pair):
    """The waiting open must not stop its connection: the ack comes on it."""
    a, _, breaks = pair
    held = create(a.tree, "f", EXCLUSIVE)
    waiting = create_later(a.tree, "f", NONE)
    assert _break(breaks) == (held.file_id, LEVEL_II)
    assert acknowledge(a.tree, held.file_id, NONE) == (STATUS_SUCCESS, NONE)
    assert waiting().oplock_level == NONE


def test_a_chained_create_waits_in_place(pair):
    """A CREATE inside a compound chain cannot go async here: it waits for the ack, then the
    chain (CREATE, related CLOSE) is answered whole."""
    a, b, breaks = pair
    held = create(a.tree, "f", BATCH)
    handle = Open(b.tree, "f")
    create_req, create_done = handle.create(
        ImpersonationLevel.Impersonation, FilePipePrinterAccessMask.GENERIC_READ, 0, SHARE_ALL,
        CreateDisposition.FILE_OPEN, CreateOptions.FILE_NON_DIRECTORY_FILE,
        oplock_level=BATCH, send=False)
    close_req, close_done = handle.close(send=False)
    conn = b.connection
    sent = conn.send_compound([create_req, close_req], b.session.session_id, b.tree.tree_connect_id,
                              related=True)
    assert _break(breaks) == (held.file_id, LEVEL_II)
    assert acknowledge(a.tree, held.file_id, LEVEL_II) == (STATUS_SUCCESS, LEVEL_II)
    create_done(sent[0])
    close_done(sent[1])
    assert handle.oplock_level == LEVEL_II


def test_exclusive_holder_sharing_violation_without_break(pair):
    a, b, breaks = pair
    create(a.tree, "f", EXCLUSIVE, share=0)
    with pytest.raises(SMBResponseException) as exc:
        create(b.tree, "f", BATCH)
    assert exc.value.status == STATUS_SHARING_VIOLATION
    assert breaks.empty()


def test_batch_holder_closing_on_break_lets_a_sharing_open_in(pair):
    a, b, breaks = pair
    held = create(a.tree, "f", BATCH, share=0)
    waiting = create_later(b.tree, "f", BATCH)
    assert _break(breaks) == (held.file_id, LEVEL_II)
    held.close()  # the client drops the handle it only kept cached
    assert waiting().oplock_level == BATCH


def test_overwrite_breaks_to_none(pair):
    a, b, breaks = pair
    held = create(a.tree, "f", BATCH)
    waiting = create_later(b.tree, "f", NONE, disposition=5)  # FILE_OVERWRITE_IF
    assert _break(breaks) == (held.file_id, NONE)
    assert acknowledge(a.tree, held.file_id, NONE) == (STATUS_SUCCESS, NONE)
    assert waiting().oplock_level == NONE


def test_write_breaks_level_ii_holders_to_none_without_ack(pair):
    a, b, breaks = pair
    create(b.tree, "f", NONE)
    reader = create(a.tree, "f", LEVEL_II)
    own = create(a.tree, "f", LEVEL_II)
    assert reader.oplock_level == own.oplock_level == LEVEL_II
    writer = create(b.tree, "f", NONE)
    writer.write(b"new", 0)
    assert {_break(breaks), _break(breaks)} == {(reader.file_id, NONE), (own.file_id, NONE)}
    writer.write(b"more", 3)  # the caches are already gone: no second break
    solo = create(a.tree, "g", LEVEL_II)
    solo.write(b"self", 0)  # smbd breaks the writer's own cache too (smb2.oplock.batch1)
    assert _break(breaks) == (solo.file_id, NONE)
    # No ack is expected for a break from LEVEL_II: one now finds nothing outstanding.
    assert acknowledge(a.tree, reader.file_id, NONE)[0] == STATUS_INVALID_OPLOCK_PROTOCOL
    assert breaks.empty()


def test_a_lock_breaks_level_ii_the_lockers_own_too(pair):
    """smbtorture smb2.oplock.brl1/brl3: a byte-range lock makes read caches stale; a BATCH
    alone is left be (brl2)."""
    a, b, breaks = pair
    held = create(a.tree, "f", BATCH)
    assert lock(held, (0, 4, EXCLUSIVE_LOCK)) == STATUS_SUCCESS
    assert breaks.empty() or pytest.fail(f"a lock broke a lone BATCH: {breaks.get()}")
    waiting = create_later(b.tree, "f", NONE)
    assert _break(breaks) == (held.file_id, LEVEL_II)
    acknowledge(a.tree, held.file_id, LEVEL_II)
    waiting()
    assert lock(held, (8, 4, EXCLUSIVE_LOCK)) == STATUS_SUCCESS
    assert _break(breaks) == (held.file_id, NONE)


class _AllocationSize(bytes):
    """FileAllocationInformation (MS-FSCC 2.4.4) for SET_INFO."""

    INFO_TYPE, INFO_CLASS = 1, 19


def test_new_allocation_size_breaks_level_ii(pair):
    """smbtorture smb2.oplock.batch12: a new allocation size may cut the file."""
    a, b, breaks = pair
    create(b.tree, "f", NONE)
    reader = create(a.tree, "f", LEVEL_II)
    set_info(create(b.tree, "f", NONE), _AllocationSize(struct.pack("<q", 0)))
    assert _break(breaks) == (reader.file_id, NONE)


def test_ack_errors(pair):
    a, _, _ = pair
    held = create(a.tree, "f", BATCH)
    assert acknowledge(a.tree, held.file_id, LEVEL_II)[0] == STATUS_INVALID_OPLOCK_PROTOCOL
    assert acknowledge(a.tree, held.file_id, BATCH)[0] == STATUS_INVALID_PARAMETER
    assert acknowledge(a.tree, held.file_id, NONE, size=36)[0] == STATUS_INVALID_PARAMETER
    assert acknowledge(a.tree, b"\x01" * 16, NONE)[0] == STATUS_FILE_CLOSED


def test_close_releases_the_oplock(pair):
    a, b, breaks = pair
    create(a.tree, "f", BATCH).close()
    assert create(b.tree, "f", BATCH).oplock_level == BATCH
    assert breaks.empty()


def test_lost_connection_releases_the_oplock_and_the_waiting_open(pair):
    a, b, breaks = pair
    held = create(a.tree, "f", BATCH)
    waiting = create_later(b.tree, "f", BATCH)
    assert _break(breaks) == (held.file_id, LEVEL_II)
    a.connection.disconnect(close=False)  # gone without CLOSE or ack
    assert waiting().oplock_level == BATCH  # the file is b's alone now


def test_unanswered_break_times_out(share):
    srv = _server(share, 0.5)
    c = Clients(srv)
    try:
        a, b = c.login(), c.login()
        breaks = catch_breaks(a.connection)
        held = create(a.tree, "f", BATCH)
        waiting = create_later(b.tree, "f", BATCH)
        assert _break(breaks) == (held.file_id, LEVEL_II)
        assert waiting().oplock_level == LEVEL_II  # answered once the break timed out
        # The holder's oplock went with the timeout: its late ack finds no break.
        assert acknowledge(a.tree, held.file_id, LEVEL_II)[0] == STATUS_INVALID_OPLOCK_PROTOCOL
    finally:
        c.close()
        srv.stop()


@pytest.mark.parametrize("encrypt", [True, False])
def test_break_is_encrypted_like_the_session(share, encrypt):
    """smbd's notification: encrypted when the session is, else in clear and unsigned
    (SessionId 0), on the wire between the holder and the server."""
    srv = _server(share, PATIENT, "required" if encrypt else "off")
    relay = RecordingRelay(srv.port)
    c = Clients(srv)
    conn = Connection(uuid.uuid4(), "127.0.0.1", relay.port)
    try:
        conn.connect(timeout=5)
        session = Session(conn, USER, PASSWORD, require_encryption=encrypt, auth_protocol="ntlm")
        session.connect()
        tree = TreeConnect(session, srv.unc)
        tree.connect()
        breaks = catch_breaks(conn)
        held = create(tree, "f", BATCH)
        waiting = create_later(c.login().tree, "f", NONE)
        assert _break(breaks) == (held.file_id, LEVEL_II)
        assert acknowledge(tree, held.file_id, LEVEL_II) == (STATUS_SUCCESS, LEVEL_II)
        assert waiting().oplock_level == NONE
    finally:
        conn.disconnect(close=False)
        relay.close()
        c.close()
        srv.stop()
    clear = [f for f in frames(relay.to_client) if f[:4] == b"\xfeSMB"
             and struct.unpack_from("<H10xQ", f, 12) == (SMB2_OPLOCK_BREAK, 0xFFFFFFFFFFFFFFFF)]
    if encrypt:
        assert not clear and transforms(relay.to_client)
    else:
        assert len(clear) == 1
        flags, session_id, signature = struct.unpack_from("<I20xQ16s", clear[0], 16)
        assert session_id == 0 and signature == b"\x00" * 16 and not flags & 0x8
