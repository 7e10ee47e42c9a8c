"""Compound requests (MS-SMB2 3.3.5.2.7) as smbd answers them: smb2.compound without smbtorture.

Most chains are built by hand (``Wire``) so that a test can send what no polite client
sends: a related first request, a bogus session, an unknown command, a NextCommand
past the frame.  The signed and encrypted chains go through smbprotocol, which checks
every response's signature and decrypts the compound as one transform.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

import pytest
from impacket.nmb import NetBIOSError
from impacket.nt_errors import (
    STATUS_END_OF_FILE,
    STATUS_FILE_CLOSED,
    STATUS_INVALID_PARAMETER,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_SUCCESS,
    STATUS_USER_SESSION_DELETED,
)
from impacket.smb3structs import SMB2_DIALECT_21
from impacket.smbconnection import SMBConnection
from smbprotocol.connection import Connection
from smbprotocol.header import Smb2Flags
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import compound, notify
from ibs.fake_smb.faults import DropConnection
from tests.fake_smb.conftest import DIALECT_CODES, PASSWORD, USER
from tests.fake_smb.raw_requests import SHARE_ALL
from tests.fake_smb.relay import RecordingRelay, frames

RELATED = 0x4
ALL_FF = b"\xff" * 16
CREATE, CLOSE, FLUSH, READ, WRITE, CANCEL, ECHO, CHANGE_NOTIFY, QUERY_INFO = (
    0x5, 0x6, 0x7, 0x8, 0x9, 0xC, 0xD, 0xF, 0x10)
OPEN_IF, OPEN, CREATE_NEW = 3, 1, 2
DIRECTORY_FILE, NON_DIRECTORY_FILE = 0x1, 0x40
ASYNC = 0x2
STATUS_PENDING, STATUS_CANCELLED, STATUS_NOTIFY_CLEANUP, STATUS_INTERNAL_ERROR = (
    0x103, 0xC0000120, 0x10B, 0xC00000E5)
_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


# -- request bodies (MS-SMB2 2.2) ---------------------------------------------------
def create_body(name: str, disposition: int = OPEN_IF, options: int = NON_DIRECTORY_FILE) -> bytes:
    raw = name.encode("utf-16-le")
    return struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x001F01FF, 0x80, 7, disposition,
                       options, 64 + 56, len(raw), 0, 0) + (raw or b"\x00")


def close_body(fid: bytes = ALL_FF) -> bytes:
    return struct.pack("<HHI16s", 24, 0, 0, fid)


def flush_body(fid: bytes = ALL_FF) -> bytes:
    return struct.pack("<HHI16s", 24, 0, 0, fid)


def write_body(data: bytes, fid: bytes = ALL_FF, offset: int = 0) -> bytes:
    return struct.pack("<HHIQ16sIIHHI", 49, 64 + 48, len(data), offset, fid, 0, 0, 0, 0, 0) + data


def read_body(length: int, fid: bytes = ALL_FF, offset: int = 0) -> bytes:
    return struct.pack("<HBBIQ16sIIIHH", 49, 0, 0, length, offset, fid, 0, 0, 0, 0, 0) + b"\x00"


def query_info_body(fid: bytes = ALL_FF) -> bytes:  # FileStandardInformation
    return struct.pack("<HBBIHHIII16s", 41, 1, 5, 4096, 0, 0, 0, 0, 0, fid) + b"\x00"


def notify_body(fid: bytes = ALL_FF) -> bytes:  # FILE_NOTIFY_CHANGE_FILE_NAME
    return struct.pack("<HHI16sII", 32, 0, 4096, fid, 0x1, 0)


def echo_body() -> bytes:
    return struct.pack("<HH", 4, 0)


@dataclass
class Req:
    command: int
    body: bytes
    related: bool = False
    session_id: int | None = None  # None: the wire's own session
    tree_id: int | None = None


@dataclass
class Reply:
    command: int
    status: int
    flags: int
    message_id: int
    next_command: int
    body: bytes
    header: bytes

    @property
    def fid(self) -> bytes:
        return self.body[64:80]

    @property
    def async_id(self) -> int:
        return struct.unpack_from("<Q", self.header, 32)[0]

    @property
    def read_data(self) -> bytes:
        offset, length = struct.unpack_from("<BxI", self.body, 2)
        return self.body[offset - 64:offset - 64 + length]


class Wire:
    """A logged-on SMB 2.1 session (impacket's client) whose socket we then drive by hand.

    2.1 keeps the session out of encryption, and the server does not check request
    signatures, so hand-built requests go in unsigned.
    """

    def __init__(self, server, timeout: float = 10) -> None:
        self.timeout = timeout
        self.client = SMBConnection(server.host, server.host, sess_port=server.port,
                                    preferredDialect=SMB2_DIALECT_21, timeout=10)
        self.client.login(USER, PASSWORD)
        self.tree_id = self.client.connectTree(server.share_name)
        smb3 = self.client.getSMBServer()
        self.session_id = smb3._Session["SessionID"]
        self.netbios = smb3._NetBIOSSession
        self.next_mid = 1000

    def frame(self, requests: list[Req]) -> tuple[bytes, list[int]]:
        parts, mids = [], []
        for index, req in enumerate(requests):
            mid = self.next_mid
            self.next_mid += 1
            mids.append(mid)
            sid = self.session_id if req.session_id is None else req.session_id
            tid = self.tree_id if req.tree_id is None else req.tree_id
            message = bytearray(_HEADER.pack(b"\xfeSMB", 64, 1, 0, req.command, 8, RELATED if req.related else 0,
                                             0, mid, 0xFEFF, tid, sid, b"\x00" * 16) + req.body)
            if index + 1 < len(requests):
                message += b"\x00" * (-len(message) % 8)
                struct.pack_into("<I", message, 20, len(message))
            parts.append(bytes(message))
        return b"".join(parts), mids

    def send_raw(self, frame: bytes) -> None:
        self.netbios.send_packet(frame)

    def receive(self, count: int) -> list[tuple[Reply, int]]:
        """The next ``count`` responses, each with the length of the frame it came in."""
        replies: list[tuple[Reply, int]] = []
        while len(replies) < count:
            frame = self.netbios.recv_packet(self.timeout).get_trailer()
            offset = 0
            while True:
                status, command = struct.unpack_from("<IH", frame, offset + 8)
                flags, next_command, mid = struct.unpack_from("<IIQ", frame, offset + 16)
                end = offset + next_command if next_command else len(frame)
                replies.append((Reply(command, status, flags, mid, next_command, frame[offset + 64:end],
                                      frame[offset:offset + 64]), len(frame)))
                if not next_command:
                    break
                offset = end
        return replies

    def chain(self, requests: list[Req]) -> list[Reply]:
        frame, mids = self.frame(requests)
        self.send_raw(frame)
        replies = [r for r, _ in self.receive(len(requests))]
        assert [r.message_id for r in replies] == mids
        return replies

    def close(self) -> None:
        self.netbios.close()


@pytest.fixture
def wire(server):
    w = Wire(server)
    try:
        yield w
    finally:
        w.close()


def statuses(replies: list[Reply]) -> list[int]:
    return [r.status for r in replies]


def is_open(wire: Wire, fid: bytes) -> bool:
    return wire.chain([Req(FLUSH, flush_body(fid))])[0].status == STATUS_SUCCESS


# -- related chains ------------------------------------------------------------------
def test_a_related_chain_works_on_the_file_its_create_opened(wire, share):
    replies = wire.chain([
        Req(CREATE, create_body("chain.dat")),
        Req(WRITE, write_body(b"hello, chain"), related=True),
        Req(READ, read_body(5, offset=7), related=True),
        Req(CLOSE, close_body(), related=True),
    ])
    assert statuses(replies) == [STATUS_SUCCESS] * 4
    assert replies[2].read_data == b"chain"
    assert all(r.flags & RELATED for r in replies[1:]) and not replies[0].flags & RELATED
    assert (share / "chain.dat").read_bytes() == b"hello, chain"
    assert not is_open(wire, replies[0].fid)  # the chain's CLOSE closed it


def test_after_a_close_in_the_chain_related_requests_answer_file_closed(wire):
    replies = wire.chain([Req(CREATE, create_body("r2.dat"))] + [Req(CLOSE, close_body(), related=True)] * 4)
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_SUCCESS] + [STATUS_FILE_CLOSED] * 3


def test_a_related_request_uses_the_chains_open_even_after_a_plain_handle(wire, share):
    opened = wire.chain([Req(CREATE, create_body("flush.dat"))])[0]
    replies = wire.chain([Req(FLUSH, flush_body(opened.fid)), Req(CLOSE, close_body(), related=True)])
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_SUCCESS]
    assert not is_open(wire, opened.fid)


def test_a_failed_create_hands_its_status_to_the_related_requests_after_it(wire):
    replies = wire.chain([
        Req(CREATE, create_body("absent.dat", disposition=OPEN)),
        Req(QUERY_INFO, query_info_body(), related=True),
        Req(CLOSE, close_body(), related=True),
    ])
    assert statuses(replies) == [STATUS_OBJECT_NAME_NOT_FOUND] * 3


def test_a_failure_other_than_create_does_not_fail_the_related_requests_after_it(wire, share):
    (share / "short.dat").write_bytes(b"ab")
    replies = wire.chain([
        Req(CREATE, create_body("short.dat")),
        Req(READ, read_body(1, offset=10), related=True),
        Req(READ, read_body(2), related=True),
        Req(CLOSE, close_body(), related=True),
    ])
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_END_OF_FILE, STATUS_SUCCESS, STATUS_SUCCESS]
    assert replies[2].read_data == b"ab"


# -- unrelated and invalid chains ------------------------------------------------------
def test_unrelated_requests_do_not_inherit_the_file_just_opened(wire):
    replies = wire.chain([Req(CREATE, create_body("u1.dat"))] + [Req(CLOSE, close_body())] * 3)
    assert statuses(replies) == [STATUS_SUCCESS] + [STATUS_FILE_CLOSED] * 3
    assert is_open(wire, replies[0].fid)


def test_a_related_first_request_fails_and_so_do_the_related_ones_after_it(wire, share):
    replies = wire.chain([
        Req(CREATE, create_body("invalid1.dat"), related=True),
        Req(CLOSE, close_body(), related=True),
        Req(CLOSE, close_body()),
    ])
    assert statuses(replies) == [STATUS_INVALID_PARAMETER, STATUS_INVALID_PARAMETER, STATUS_FILE_CLOSED]
    assert not (share / "invalid1.dat").exists()


def test_an_unknown_session_fails_the_related_requests_after_it(wire):
    replies = wire.chain([
        Req(CREATE, create_body("invalid2.dat")),
        Req(CLOSE, close_body(), related=True),
        Req(CLOSE, close_body(), session_id=2**64 - 1, tree_id=0xFFFFFFFF),
        Req(CLOSE, close_body(), related=True),
    ])
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_SUCCESS, STATUS_USER_SESSION_DELETED,
                                 STATUS_INVALID_PARAMETER]


def test_an_unknown_command_in_a_chain_is_invalid_and_the_rest_is_answered(wire):
    replies = wire.chain([Req(ECHO, echo_body()), Req(0xFF, echo_body(), related=True), Req(ECHO, echo_body())])
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_INVALID_PARAMETER, STATUS_SUCCESS]


def test_a_next_command_past_the_frame_drops_the_connection_and_only_it(wire, server):
    frame, _ = wire.frame([Req(ECHO, echo_body()), Req(ECHO, echo_body())])
    broken = bytearray(frame)
    struct.pack_into("<I", broken, 20, len(frame) + 64)
    wire.send_raw(bytes(broken))
    with pytest.raises(NetBIOSError, match="reading from remote"):  # closed, not timed out
        wire.receive(1)
    other = Wire(server)
    try:
        assert statuses(other.chain([Req(ECHO, echo_body()), Req(ECHO, echo_body())])) == [STATUS_SUCCESS] * 2
    finally:
        other.close()


# -- a request that goes async: CHANGE_NOTIFY --------------------------------------------------
def _cancel(wire: Wire, message_id: int, async_id: int | None = None) -> None:
    cancel = bytearray(wire.frame([Req(CANCEL, echo_body())])[0])
    if async_id is None:
        struct.pack_into("<Q", cancel, 24, message_id)
    else:
        struct.pack_into("<IIQQ", cancel, 16, ASYNC, 0, 0, async_id)
    wire.send_raw(bytes(cancel))


def test_a_notify_ending_a_chain_waits_and_a_cancel_by_message_id_answers_it(wire, monkeypatch):
    monkeypatch.setattr(notify, "INTERIM_DELAY", 3600)  # no interim: the client cancels first
    frame, mids = wire.frame([
        Req(CREATE, create_body("watched", CREATE_NEW, DIRECTORY_FILE)),
        Req(CHANGE_NOTIFY, notify_body(), related=True),
    ])
    wire.send_raw(frame)
    [(created, created_in)] = wire.receive(1)
    assert (created.status, created.message_id) == (STATUS_SUCCESS, mids[0])
    assert created_in == 64 + len(created.body)  # the CREATE's answer alone
    _cancel(wire, mids[1])
    [(final, _)] = wire.receive(1)
    assert (final.status, final.message_id) == (STATUS_CANCELLED, mids[1]) and not final.flags & ASYNC
    assert statuses(wire.chain([Req(CLOSE, close_body(created.fid))])) == [STATUS_SUCCESS]


def test_a_notify_still_pending_gets_an_interim_response_and_a_cancel_by_async_id(wire, monkeypatch):
    monkeypatch.setattr(notify, "INTERIM_DELAY", 0)
    opened = wire.chain([Req(CREATE, create_body("watched", CREATE_NEW, DIRECTORY_FILE))])[0]
    frame, mids = wire.frame([Req(CHANGE_NOTIFY, notify_body(opened.fid))])
    wire.send_raw(frame)
    [(interim, _)] = wire.receive(1)
    assert (interim.status, interim.message_id) == (STATUS_PENDING, mids[0]) and interim.flags & ASYNC
    _cancel(wire, 0, interim.async_id)
    [(final, _)] = wire.receive(1)
    assert (final.status, final.message_id, final.async_id) == (STATUS_CANCELLED, mids[0], interim.async_id)
    assert final.flags & ASYNC


def test_closing_a_watched_directory_completes_its_notify_with_cleanup(wire, monkeypatch):
    monkeypatch.setattr(notify, "INTERIM_DELAY", 0)
    opened = wire.chain([Req(CREATE, create_body("watched", CREATE_NEW, DIRECTORY_FILE))])[0]
    frame, mids = wire.frame([Req(CHANGE_NOTIFY, notify_body(opened.fid))])
    wire.send_raw(frame)
    [(interim, _)] = wire.receive(1)
    assert interim.status == STATUS_PENDING
    frame, close_mids = wire.frame([Req(CLOSE, close_body(opened.fid))])
    wire.send_raw(frame)
    (cleanup, _), (closed, _) = wire.receive(2)
    assert (cleanup.status, cleanup.message_id, cleanup.async_id) == (STATUS_NOTIFY_CLEANUP, mids[0], interim.async_id)
    assert (closed.status, closed.message_id) == (STATUS_SUCCESS, close_mids[0])


def test_a_cancel_is_never_answered_itself(wire):
    _cancel(wire, 999_999)
    frame, mids = wire.frame([Req(ECHO, echo_body())])
    wire.send_raw(frame)
    [(echo, _)] = wire.receive(1)
    assert (echo.command, echo.message_id) == (ECHO, mids[0])


def test_a_notify_in_the_middle_of_a_chain_fails_internal_error_and_the_chain_goes_on(wire):
    replies = wire.chain([
        Req(CREATE, create_body("watched", CREATE_NEW, DIRECTORY_FILE)),
        Req(CHANGE_NOTIFY, notify_body(), related=True),
        Req(CLOSE, close_body(), related=True),
    ])
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_INTERNAL_ERROR, STATUS_SUCCESS]


def test_a_notify_on_a_file_is_refused(wire):
    replies = wire.chain([Req(CREATE, create_body("plain.dat")), Req(CHANGE_NOTIFY, notify_body(), related=True)])
    assert statuses(replies) == [STATUS_SUCCESS, STATUS_INVALID_PARAMETER]


# -- padding ----------------------------------------------------------------------------
def test_every_response_of_a_compound_is_padded_to_8_bytes_a_lone_one_is_not(wire, share):
    (share / "pad.dat").write_bytes(b"123")
    opened = wire.chain([Req(CREATE, create_body("pad.dat"))])[0]
    frame, _ = wire.frame([Req(READ, read_body(3, opened.fid)), Req(READ, read_body(3, opened.fid))])
    wire.send_raw(frame)
    (first, length), (second, _) = wire.receive(2)
    # A READ response is 64 + 16 + 3 bytes; padded, each takes 88 and so does the frame's last.
    assert first.next_command == 88 and len(second.body) == 24 and length == 176
    frame, _ = wire.frame([Req(READ, read_body(3, opened.fid))])
    wire.send_raw(frame)
    [(lone, length)] = wire.receive(1)
    assert lone.read_data == b"123" and length == 64 + 19


# -- signed and encrypted chains, through a client that checks them --------------------------
@pytest.mark.parametrize("encrypt", [False, True], ids=["signed", "encrypted"])
def test_a_signed_or_encrypted_chain_comes_back_as_one_message_the_client_accepts(server, share, encrypt):
    server.encryption = "desired" if encrypt else "off"  # desired encrypts every 3.x session
    relay = RecordingRelay(server.port)
    conn = Connection(uuid.uuid4(), "127.0.0.1", relay.port, require_signing=True)
    try:
        conn.connect(dialect=DIALECT_CODES["3.1.1"], timeout=5)
        session = Session(conn, USER, PASSWORD, require_encryption=encrypt, auth_protocol="ntlm")
        session.connect()
        tree = TreeConnect(session, server.unc)
        tree.connect()
        handle = Open(tree, "sealed.dat")
        steps = [
            handle.create(ImpersonationLevel.Impersonation, FilePipePrinterAccessMask.GENERIC_ALL, 0,
                          SHARE_ALL, CreateDisposition.FILE_OVERWRITE_IF,
                          CreateOptions.FILE_NON_DIRECTORY_FILE, send=False),
            handle.write(b"signed chain", 0, send=False),
            handle.read(0, 6, send=False),
            handle.close(send=False),
        ]
        before = len(relay.to_client)
        sent = conn.send_compound([m for m, _ in steps], session.session_id, tree.tree_connect_id, related=True)
        results = [unpack(request) for (_, unpack), request in zip(steps, sent)]
        [answer] = frames(bytes(relay.to_client[before:]))
    finally:
        conn.disconnect(close=False)
        relay.close()
    assert results[1] == len(b"signed chain") and results[2] == b"signed"
    assert (share / "sealed.dat").read_bytes() == b"signed chain"
    if encrypt:  # the whole compound sealed as one transform
        assert answer[:4] == b"\xfdSMB"
    else:  # smbprotocol checks a signature only where the SIGNED flag says there is one
        assert answer[:4] == b"\xfeSMB"
        assert all(r.response["flags"].has_flag(Smb2Flags.SMB2_FLAGS_SIGNED) for r in sent)


# -- the chain walker alone, with a dispatcher that misbehaves -------------------------------
def _offline_chain(*commands: int) -> bytes:
    wire = Wire.__new__(Wire)  # only frame() is used: no connection
    wire.session_id, wire.tree_id, wire.next_mid = 7, 1, 1
    return wire.frame([Req(c, echo_body()) for c in commands])[0]


def _status_of(response: bytes) -> int:
    return struct.unpack_from("<I", response, 8)[0]


def test_a_request_the_dispatcher_chokes_on_answers_invalid_parameter_and_the_chain_goes_on():
    conn_data = {"Authenticated": True, "Uid": 7, "ConnectedShares": {1: {}}, "OpenedFiles": {}}
    calls = []

    def dispatch(message: bytes) -> bytes:
        calls.append(message)
        if len(calls) == 1:
            raise ValueError("unparseable")
        return message[:8] + struct.pack("<I", STATUS_SUCCESS) + message[12:]

    [out] = compound.run(_offline_chain(ECHO, ECHO), conn_data, dispatch, lambda _msg: None)
    first = out[:struct.unpack_from("<I", out, 20)[0]]
    assert [_status_of(first), _status_of(out[len(first):])] == [STATUS_INVALID_PARAMETER, STATUS_SUCCESS]


def test_a_dropped_connection_is_not_swallowed_by_the_chain():
    def dispatch(message: bytes) -> bytes:
        raise DropConnection()

    with pytest.raises(DropConnection):
        compound.run(_offline_chain(ECHO, ECHO), {"Authenticated": True, "Uid": 7}, dispatch, print)
