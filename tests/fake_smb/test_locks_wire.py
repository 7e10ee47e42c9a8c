"""SMB2 LOCK over the wire: what two clients see of each other's byte-range locks.

Each test runs against fake_smb and, where Samba is at hand (marked ``samba``), against a
real smbd with the same expectations (smbtorture smb2.lock's).  The two opens of a file come
from two connections (locks bind across them).  Blocking locks are sent without waiting, and
the test waits for their interim STATUS_PENDING answer (smbprotocol records its AsyncId)
before it frees the range, cancels or closes.
"""

from __future__ import annotations

import struct
import threading
import uuid

import pytest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    SMB2LockElement,
    SMB2LockRequest,
)

from ibs.fake_smb.connection import SmbConnectionHandler
from tests.fake_smb.raw_requests import open_file

SH, EX, UN, FI = 0x01, 0x02, 0x04, 0x10
STATUS_SUCCESS = 0
STATUS_PENDING = 0x00000103
STATUS_CANCELLED = 0xC0000120
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_FILE_LOCK_CONFLICT = 0xC0000054
STATUS_LOCK_NOT_GRANTED = 0xC0000055
STATUS_RANGE_NOT_LOCKED = 0xC000007E
STATUS_FILE_CLOSED = 0xC0000128
STATUS_INVALID_LOCK_RANGE = 0xC00001A1
STATUS_INVALID_DEVICE_REQUEST = 0xC0000010
NAME = "locked.dat"
SMB2_LOCK = 0x000A
FLAGS_ASYNC, FLAGS_SIGNED = 0x2, 0x8


def _request(handle, elements) -> SMB2LockRequest:
    items = []
    for offset, length, flags in elements:
        el = SMB2LockElement()
        el["offset"] = offset
        el["length"] = length - (1 << 64) if length >= 1 << 63 else length  # a signed field
        el["flags"].flag_strict = False  # undefined bits are sent on purpose
        el["flags"] = flags
        items.append(el)
    req = SMB2LockRequest()
    req["file_id"] = handle.file_id
    req["locks"] = items
    return req


def _send(handle, req):
    tree = handle.tree_connect
    return tree.session.connection.send(req, tree.session.session_id, tree.tree_connect_id)


def _status(handle, request) -> int:
    try:
        # The bound only turns a final answer that never comes into a failure, not a hang.
        return handle.connection.receive(request, timeout=10)["status"].get_value()
    except SMBResponseException as exc:
        return exc.status


def lock(handle, *elements) -> int:
    """The status of a LOCK of (offset, length, flags) elements, waited for to the end."""
    return _status(handle, _send(handle, _request(handle, elements)))


def lock_pending(handle, offset: int, length: int, flags: int):
    """Send a blocking LOCK; return its request once the server has answered it pending."""
    request = _send(handle, _request(handle, [(offset, length, flags)]))
    # The worker thread sets async_id when the interim response arrives; the bound is only
    # there so that a server that never answers fails the test instead of hanging it.
    assert request.response_event.wait(10), "no interim response"
    assert request.response["status"].get_value() == STATUS_PENDING
    assert request.async_id is not None
    return request


def io_status(action) -> int:
    try:
        action()
    except SMBResponseException as exc:
        return exc.status
    return STATUS_SUCCESS


@pytest.fixture
def name() -> str:
    return f"locked-{uuid.uuid4().hex[:8]}.dat"  # Samba's share outlives a test


@pytest.fixture
def opens(login, name):
    """Two opens of one 200-byte file, each on a connection of its own."""
    first = open_file(login(), name, disposition=CreateDisposition.FILE_OVERWRITE_IF)
    first.write(b"\x01" * 200, 0)
    second = open_file(login(), name)
    return first, second


def test_an_exclusive_lock_refuses_other_opens_their_locks_reads_and_writes(opens):
    h1, h2 = opens
    assert lock(h1, (100, 50, EX | FI)) == STATUS_SUCCESS
    assert lock(h2, (140, 20, EX | FI)) == STATUS_LOCK_NOT_GRANTED
    assert lock(h2, (100, 1, SH | FI)) == STATUS_LOCK_NOT_GRANTED
    assert io_status(lambda: h2.read(100, 10)) == STATUS_FILE_LOCK_CONFLICT
    assert io_status(lambda: h2.write(b"x" * 10, 145)) == STATUS_FILE_LOCK_CONFLICT
    assert h2.read(0, 100) == b"\x01" * 100  # the bytes before it are free
    h1.write(b"mine", 100)  # its holder reads and writes as it likes
    assert h1.read(100, 4) == b"mine"


def test_a_shared_lock_stops_every_write_even_its_holders_but_no_read(opens):
    h1, h2 = opens
    assert lock(h1, (0, 100, SH | FI)) == STATUS_SUCCESS
    assert lock(h2, (50, 100, SH | FI)) == STATUS_SUCCESS
    assert io_status(lambda: h1.write(b"x", 10)) == STATUS_FILE_LOCK_CONFLICT
    assert io_status(lambda: h2.write(b"x", 10)) == STATUS_FILE_LOCK_CONFLICT
    assert h1.read(0, 10) == h2.read(0, 10) == b"\x01" * 10
    assert lock(h1, (0, 100, UN)) == lock(h2, (50, 100, UN)) == STATUS_SUCCESS
    h2.write(b"free", 10)


def test_an_unlock_names_exactly_a_range_its_own_open_holds(opens):
    h1, h2 = opens
    assert lock(h1, (110, 4, SH | FI)) == lock(h1, (112, 4, SH | FI)) == STATUS_SUCCESS
    assert lock(h1, (110, 6, UN)) == STATUS_RANGE_NOT_LOCKED  # no coalescing
    assert lock(h2, (110, 4, UN)) == STATUS_RANGE_NOT_LOCKED  # not h2's
    assert lock(h1, (110, 4, UN)) == STATUS_SUCCESS
    assert lock(h1, (110, 4, UN)) == STATUS_RANGE_NOT_LOCKED


@pytest.mark.parametrize(("elements", "status"), [
    ([(0, 1, 0)], STATUS_INVALID_PARAMETER),
    ([(0, 1, UN | EX)], STATUS_INVALID_PARAMETER),
    ([(0, 1, UN | FI)], STATUS_INVALID_PARAMETER),
    ([(0, 1, EX), (5, 1, EX | FI)], STATUS_INVALID_PARAMETER),
    ([(0, 1, 0x80)], STATUS_INVALID_PARAMETER),
    ([((1 << 64) - 1, 2, EX | FI)], STATUS_INVALID_LOCK_RANGE),
    ([((1 << 64) - 1, 1, EX | FI)], STATUS_SUCCESS),
    ([(1 << 63, 1, EX | FI)], STATUS_SUCCESS),
])
def test_requests_are_checked_as_samba_checks_them(opens, elements, status):
    assert lock(opens[0], *elements) == status


def test_a_lock_request_on_no_open_is_file_closed(opens):
    h1, _ = opens
    req = _request(h1, [(0, 1, EX | FI)])
    req["file_id"] = b"\x55" * 16
    assert _status(h1, _send(h1, req)) == STATUS_FILE_CLOSED


def test_a_directory_cannot_be_locked(login, name):
    handle = open_file(login(), name, access=DirectoryAccessMask.GENERIC_ALL,
                       options=CreateOptions.FILE_DIRECTORY_FILE)
    assert lock(handle, (0, 10, EX | FI)) == STATUS_INVALID_DEVICE_REQUEST
    assert lock(handle, (0, 10, UN)) == STATUS_INVALID_DEVICE_REQUEST
    assert lock(handle, (0, 10, 0)) == STATUS_INVALID_PARAMETER  # the flags are checked first


def test_a_lock_request_that_fails_takes_none_of_its_ranges(opens):
    h1, h2 = opens
    assert lock(h2, (20, 10, EX | FI)) == STATUS_SUCCESS
    assert lock(h1, (0, 10, EX | FI), (25, 1, EX | FI)) == STATUS_LOCK_NOT_GRANTED
    assert lock(h2, (0, 10, EX | FI)) == STATUS_SUCCESS  # h1 kept nothing


def test_a_blocking_lock_waits_until_the_range_frees(opens):
    h1, h2 = opens
    assert lock(h1, (100, 50, EX)) == STATUS_SUCCESS
    waiting = lock_pending(h2, 120, 10, EX)
    assert lock(h1, (0, 10, EX | FI)) == STATUS_SUCCESS  # other ranges stay usable meanwhile
    assert lock(h1, (100, 50, UN)) == STATUS_SUCCESS
    assert _status(h2, waiting) == STATUS_SUCCESS
    assert lock(h1, (125, 1, SH | FI)) == STATUS_LOCK_NOT_GRANTED  # h2 holds it now


def test_cancel_answers_the_waiting_lock_cancelled_and_it_takes_nothing(opens):
    h1, h2 = opens
    assert lock(h1, (100, 10, EX)) == STATUS_SUCCESS
    waiting = lock_pending(h2, 100, 10, EX)
    assert lock(h2, (100, 10, UN)) == STATUS_RANGE_NOT_LOCKED  # a waiting lock is not held
    waiting.cancel()
    assert _status(h2, waiting) == STATUS_CANCELLED
    assert lock(h1, (100, 10, UN)) == STATUS_SUCCESS
    assert lock(h2, (100, 10, UN)) == STATUS_RANGE_NOT_LOCKED


def test_closing_the_waiting_open_answers_its_lock_range_not_locked(opens):
    h1, h2 = opens
    assert lock(h1, (100, 10, EX)) == STATUS_SUCCESS
    waiting = lock_pending(h2, 100, 10, EX)
    # CLOSE's own answer comes after the LOCK's; close() waits for it in this thread.
    closer = threading.Thread(target=h2.close)
    closer.start()
    assert _status(h2, waiting) == STATUS_RANGE_NOT_LOCKED
    closer.join(10)


def test_a_closed_open_lets_go_of_its_locks(opens, login, name):
    h1, h2 = opens
    assert lock(h1, (0, 8, SH | FI)) == lock(h2, (0, 1, SH | FI)) == STATUS_SUCCESS
    h1.close()
    h3 = open_file(login(), name)
    assert lock(h3, (7, 1, EX | FI)) == STATUS_SUCCESS  # h1's shared lock went with it


def test_a_tree_disconnect_frees_the_holders_locks_before_it_fails_the_waiting(clients):
    """smbtorture smb2.lock.cancel-tdis: holder and waiter on one tree, the waiter opened
    last; the waiting lock is granted as the tree goes, not failed.  That is what the test
    expects of a server that is not Samba 4 (Windows) and what Samba answers to smbtorture;
    asked by smbprotocol, smbd answers RANGE_NOT_LOCKED instead, so this one runs against
    fake_smb only."""
    tree = clients.login().tree
    h1 = open_file(tree, NAME)
    h2 = open_file(tree, NAME)
    assert lock(h1, (0, 10, EX)) == STATUS_SUCCESS
    waiting = lock_pending(h2, 0, 10, EX)
    disconnecting = threading.Thread(target=tree.disconnect)
    disconnecting.start()
    assert _status(h2, waiting) == STATUS_SUCCESS
    disconnecting.join(10)


def test_a_dropped_connection_lets_go_of_its_locks_and_grants_the_waiting(clients):
    """fake_smb only: smbd grants too, but in about one run of five not within a minute (the
    wake-up crosses from the dropped connection's smbd process to the waiter's)."""
    h1 = open_file(clients.login().tree, NAME)
    h2 = open_file(clients.login().tree, NAME)
    assert lock(h1, (0, 10, EX)) == STATUS_SUCCESS
    waiting = lock_pending(h2, 0, 10, EX)
    h1.connection.disconnect(close=False)  # no CLOSE, no LOGOFF: the socket just goes
    assert _status(h2, waiting) == STATUS_SUCCESS


@pytest.fixture
def frames(monkeypatch):
    """Every SMB2 message the server sends, as it goes on the wire (smbprotocol takes an
    unsigned answer on a signed session, so the test looks at the bytes itself)."""
    sent: list[bytes] = []
    original = SmbConnectionHandler._send

    def record(self, data):
        sent.append(bytes(data))
        original(self, data)

    monkeypatch.setattr(SmbConnectionHandler, "_send", record)
    return sent


def test_a_blocking_lock_on_an_encrypted_session_is_answered_encrypted(clients, frames):
    h1 = open_file(clients.login(require_encryption=True).tree, NAME)
    h2 = open_file(clients.login(require_encryption=True).tree, NAME)
    assert lock(h1, (0, 10, EX)) == STATUS_SUCCESS
    mark = len(frames)
    waiting = lock_pending(h2, 0, 10, SH)
    assert lock(h1, (0, 10, UN)) == STATUS_SUCCESS
    assert _status(h2, waiting) == STATUS_SUCCESS
    assert len(frames) - mark == 3  # interim, the UNLOCK's answer, final
    assert all(f[:4] == b"\xfdSMB" for f in frames[mark:])


def test_the_final_answer_of_a_blocking_lock_is_signed(clients, frames):
    h1 = open_file(clients.login(dialect="2.1").tree, NAME)
    h2 = open_file(clients.login(dialect="2.1").tree, NAME)
    assert lock(h1, (0, 10, EX)) == STATUS_SUCCESS
    waiting = lock_pending(h2, 0, 10, SH)
    assert lock(h1, (0, 10, UN)) == STATUS_SUCCESS
    assert _status(h2, waiting) == STATUS_SUCCESS
    answers = [f for f in frames if struct.unpack_from("<HH", f, 12)[0] == SMB2_LOCK
               and struct.unpack_from("<I", f, 16)[0] & FLAGS_ASYNC]
    statuses = [struct.unpack_from("<I", f, 8)[0] for f in answers]
    assert statuses == [STATUS_PENDING, STATUS_SUCCESS]
    interim, final = answers
    assert not struct.unpack_from("<I", interim, 16)[0] & FLAGS_SIGNED  # an interim is never signed
    assert struct.unpack_from("<I", final, 16)[0] & FLAGS_SIGNED and final[48:64] != bytes(16)
