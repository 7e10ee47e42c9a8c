"""Session lifetime as Samba keeps it: LOGOFF, ECHO afterwards, reauthentication, a
malformed NTLMv2 response, and the statuses a session bind is refused with.

A small raw SMB2 client drives these: smbprotocol never sends a second LOGOFF, a broken
NTLMv2 response or a bind.  It speaks SMB 2.1 unsigned where signing is not the point
(the server signs its answers; the client does not need to check them here).
"""

from __future__ import annotations

import socket
import struct
import uuid
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from impacket import ntlm
from smbprotocol.connection import Connection, Dialects, SigningAlgorithms
from smbprotocol.session import Session

from ibs.fake_smb import session_setup
from tests.fake_smb.conftest import PASSWORD, USER
from tests.fake_smb.test_signing import PREAUTH, SIGNING_CAPABILITIES, _negotiate_request

STATUS_SUCCESS = 0
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_LOGON_FAILURE = 0xC000006D
STATUS_USER_SESSION_DELETED = 0xC0000203
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_REQUEST_NOT_ACCEPTED = 0xC00000D0
STATUS_REQUEST_OUT_OF_SEQUENCE = 0xC000042A

NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, CREATE, READ, ECHO = 0, 1, 2, 3, 5, 8, 13
SESSION_FLAG_BINDING = 0x01
FLAG_SIGNED = 0x08


class RawClient:
    """One TCP connection speaking SMB2 by hand; every call returns (status, session id, body)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.message_id = 0
        self.session_id = 0
        self.tree_id = 0
        self.last_reply = b""
        self.session_key = b""  # NTLM's exported session key: SMB 2.1 signs with it

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, message: bytes) -> tuple[int, int, bytes]:
        self.sock.sendall(struct.pack(">I", len(message)) + message)
        head = self.sock.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            raise ConnectionError("the server closed the connection")
        reply = self.last_reply = self.sock.recv(int.from_bytes(head[1:], "big"), socket.MSG_WAITALL)
        return struct.unpack_from("<I", reply, 8)[0], struct.unpack_from("<Q", reply, 40)[0], reply[64:]

    def call(self, command: int, body: bytes, session_id: int | None = None, flags: int = 0,
             sign: Callable[[bytes], bytes] | None = None):
        """sign, given, computes the Signature of the message (its Signature field zero)."""
        sid = self.session_id if session_id is None else session_id
        if sign is not None:
            flags |= FLAG_SIGNED
        header = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, 0, command, 64, flags, 0,
                             self.message_id, 0, self.tree_id, sid, bytes(16))
        self.message_id += 1
        message = header + body
        if sign is not None:
            message = message[:48] + sign(message) + message[64:]
        return self.send_raw(message)

    # -- commands ---------------------------------------------------------------------------
    def negotiate_2_1(self) -> int:
        body = struct.pack("<HHHHI16sIHH", 36, 1, 1, 0, 0, uuid.uuid4().bytes, 0, 0, 0) + struct.pack("<H", 0x0210)
        return self.call(NEGOTIATE, body)[0]

    def session_setup(self, token: bytes, session_id: int | None = None, flags: int = 0,
                      header_flags: int = 0):
        body = struct.pack("<HBBIIHHQ", 25, flags, 1, 0, 0, 64 + 24, len(token), 0) + token
        return self.call(SESSION_SETUP, body, session_id, header_flags)

    def logon(self, user: str = USER, password: str = PASSWORD, session_id: int | None = None,
              nt_response: bytes | None = None) -> int:
        """Raw NTLMSSP (no SPNEGO) in two legs; nt_response replaces the NTLMv2 response."""
        type1 = ntlm.getNTLMSSPType1("", "")
        status, sid, body = self.session_setup(type1.getData(), session_id)
        assert status == STATUS_MORE_PROCESSING_REQUIRED
        if session_id is None and not self.session_id:
            self.session_id = sid
        offset, length = struct.unpack_from("<HH", body, 4)
        challenge = body[offset - 64 : offset - 64 + length]
        type3, self.session_key = ntlm.getNTLMSSPType3(type1, challenge, user, password, "")
        if nt_response is not None:
            type3["ntlm"] = nt_response
        status, _, _ = self.session_setup(type3.getData(), sid)
        return status

    def tree_connect(self, unc: str) -> None:
        path = unc.encode("utf-16le")
        status, _, _ = self.call(TREE_CONNECT, struct.pack("<HHHH", 9, 0, 72, len(path)) + path)
        assert status == STATUS_SUCCESS
        self.tree_id = struct.unpack_from("<I", self.last_reply, 36)[0]

    def open(self, name: str) -> bytes:
        encoded = name.encode("utf-16le")
        body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x0012019F, 0, 7, 1, 0x40,
                           120, len(encoded), 0, 0) + encoded
        status, _, reply = self.call(CREATE, body)
        assert status == STATUS_SUCCESS, hex(status)
        return reply[64:80]

    def read(self, file_id: bytes, length: int) -> tuple[int, bytes]:
        body = struct.pack("<HBBIQ16sIIIHH", 49, 0, 0, length, 0, file_id, 0, 0, 0, 0, 0) + b"\x00"
        status, _, reply = self.call(READ, body)
        if status != STATUS_SUCCESS:
            return status, b""
        offset, count = reply[2], struct.unpack_from("<I", reply, 4)[0]
        return status, reply[offset - 64 : offset - 64 + count]

    def logoff(self) -> int:
        return self.call(LOGOFF, struct.pack("<HH", 4, 0))[0]

    def echo(self) -> int:
        return self.call(ECHO, struct.pack("<HH", 4, 0))[0]


@pytest.fixture
def raw(server):
    clients: list[RawClient] = []

    def connect() -> RawClient:
        client = RawClient(server.port)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def logged_on(server, share, raw) -> RawClient:
    (share / "kept.txt").write_bytes(b"still open after reauth")
    client = raw()
    assert client.negotiate_2_1() == STATUS_SUCCESS
    assert client.logon() == STATUS_SUCCESS
    client.tree_connect(server.unc)
    return client


# -- LOGOFF and ECHO --------------------------------------------------------------------------
def test_logoff_then_echo_and_a_second_logoff_are_answered(logged_on):
    assert logged_on.logoff() == STATUS_SUCCESS
    # The connection stays usable without a session (smbtorture's two_logoff keeps it alive
    # with ECHO); the session is gone, and saying so is an answer, not a dropped connection.
    assert logged_on.echo() == STATUS_SUCCESS
    assert logged_on.logoff() == STATUS_USER_SESSION_DELETED
    assert logged_on.echo() == STATUS_SUCCESS


def test_requests_on_a_logged_off_session_are_user_session_deleted(logged_on):
    file_id = logged_on.open("kept.txt")
    assert logged_on.logoff() == STATUS_SUCCESS
    assert logged_on.read(file_id, 5)[0] == STATUS_USER_SESSION_DELETED
    # A new session on the same connection works, without the old one's opens.
    logged_on.session_id = 0
    assert logged_on.logon() == STATUS_SUCCESS


# -- a malformed NTLMv2 response ---------------------------------------------------------------
def _ntlmv2_with_overrunning_av_pair() -> bytes:
    # NTProofStr, the client challenge's fixed 28 bytes, then an AV pair that claims more
    # bytes than follow (MS-NLMP 2.2.2.7): the response does not parse.
    fixed = struct.pack("<BBHIQ8sI", 1, 1, 0, 0, 0, b"\x3c" * 8, 0)
    return b"\xab" * 16 + fixed + struct.pack("<HH", 0x0002, 0x4000) + b"\x00" * 12


@pytest.mark.parametrize("reauth", [False, True])
def test_malformed_ntlmv2_response_is_invalid_parameter_and_the_connection_stays(server, raw, reauth):
    client = raw()
    assert client.negotiate_2_1() == STATUS_SUCCESS
    if reauth:
        assert client.logon() == STATUS_SUCCESS
    status = client.logon(session_id=client.session_id if reauth else None,
                          nt_response=_ntlmv2_with_overrunning_av_pair())
    assert status == STATUS_INVALID_PARAMETER
    assert client.echo() == STATUS_SUCCESS  # answered on the same connection
    client.session_id = 0
    assert client.logon() == STATUS_SUCCESS


def test_a_well_formed_ntlmv2_response_with_a_wrong_proof_is_still_logon_failure(raw):
    client = raw()
    client.negotiate_2_1()
    assert client.logon(password="not the password") == STATUS_LOGON_FAILURE


# -- reauthentication --------------------------------------------------------------------------
def test_reauthentication_keeps_the_session_and_its_opens(logged_on):
    sid = logged_on.session_id
    file_id = logged_on.open("kept.txt")
    assert logged_on.logon(session_id=sid) == STATUS_SUCCESS
    assert logged_on.session_id == sid
    assert logged_on.read(file_id, 23) == (STATUS_SUCCESS, b"still open after reauth")
    assert logged_on.logon(session_id=sid) == STATUS_SUCCESS
    assert logged_on.read(file_id, 5) == (STATUS_SUCCESS, b"still")


def test_failed_reauthentication_ends_the_session(logged_on):
    file_id = logged_on.open("kept.txt")
    assert logged_on.logon(session_id=logged_on.session_id, password="wrong") == STATUS_LOGON_FAILURE
    assert logged_on.read(file_id, 5)[0] == STATUS_USER_SESSION_DELETED
    assert logged_on.echo() == STATUS_SUCCESS


def test_session_setup_naming_another_connections_session_is_user_session_deleted(logged_on, raw):
    other = raw()
    other.negotiate_2_1()
    status, _, _ = other.session_setup(ntlm.getNTLMSSPType1("", "").getData(), session_id=logged_on.session_id)
    assert status == STATUS_USER_SESSION_DELETED
    assert logged_on.echo() == STATUS_SUCCESS


# -- session binding: refused with the status Samba gives ------------------------------------------
def _gmac_session(server) -> tuple[Connection, int]:
    server.encryption = "off"
    conn = Connection(uuid.uuid4(), "127.0.0.1", server.port, require_signing=True)
    conn.connect(dialect=Dialects.SMB_3_1_1, timeout=5, preferred_signing_algos=[SigningAlgorithms.AES_GMAC])
    session = Session(conn, USER, PASSWORD, require_encryption=False, auth_protocol="ntlm")
    session.connect()
    return conn, session.session_id


def _channel(raw, algorithm: int) -> RawClient:
    client = raw()
    contexts = [PREAUTH, (SIGNING_CAPABILITIES, struct.pack("<HH", 1, algorithm))]
    status, _, _ = client.send_raw(_negotiate_request(contexts))
    assert status == STATUS_SUCCESS
    client.message_id = 1
    return client


@pytest.mark.parametrize(("algorithm", "signed", "session", "expected"), [
    (SigningAlgorithms.AES_CMAC, True, "gmac", STATUS_REQUEST_OUT_OF_SEQUENCE),  # GMAC session, CMAC channel
    (SigningAlgorithms.AES_GMAC, False, "gmac", STATUS_INVALID_PARAMETER),  # a bind must be signed
    (SigningAlgorithms.AES_GMAC, True, "gmac", STATUS_REQUEST_NOT_ACCEPTED),  # no multichannel
    (SigningAlgorithms.AES_GMAC, True, "unknown", STATUS_USER_SESSION_DELETED),
    (SigningAlgorithms.AES_GMAC, True, "zero", STATUS_INVALID_PARAMETER),
])
def test_session_bind_is_refused_with_samba_status(server, raw, algorithm, signed, session, expected):
    conn, sid = _gmac_session(server)
    try:
        channel = _channel(raw, algorithm)
        target = {"gmac": sid, "unknown": sid ^ 0x5A5A, "zero": 0}[session]
        status, _, _ = channel.session_setup(ntlm.getNTLMSSPType1("", "").getData(), session_id=target,
                                             flags=SESSION_FLAG_BINDING,
                                             header_flags=FLAG_SIGNED if signed else 0)
        assert status == expected
        assert channel.echo() == STATUS_SUCCESS  # refused, not dropped
        conn.echo(sid=sid)  # the session itself is untouched
    finally:
        conn.disconnect(close=False)


def test_cmac_session_bound_from_a_gmac_channel_is_not_supported(server, raw):
    server.encryption = "off"
    conn = Connection(uuid.uuid4(), "127.0.0.1", server.port, require_signing=True)
    conn.connect(dialect=Dialects.SMB_3_1_1, timeout=5, preferred_signing_algos=[SigningAlgorithms.AES_CMAC])
    session = Session(conn, USER, PASSWORD, require_encryption=False, auth_protocol="ntlm")
    session.connect()
    try:
        channel = _channel(raw, SigningAlgorithms.AES_GMAC)
        status, _, _ = channel.session_setup(ntlm.getNTLMSSPType1("", "").getData(), session_id=session.session_id,
                                             flags=SESSION_FLAG_BINDING, header_flags=FLAG_SIGNED)
        assert status == STATUS_NOT_SUPPORTED
    finally:
        conn.disconnect(close=False)


# -- the NTLMv2 response parse, as a property ------------------------------------------------------
_av_pair = st.tuples(st.integers(1, 0xFFFF), st.binary(max_size=40))


def _ntlmv2(pairs: list[tuple[int, bytes]], tail: bytes) -> bytes:
    fixed = struct.pack("<BBHIQ8sI", 1, 1, 0, 0, 0, b"\x11" * 8, 0)
    body = b"".join(struct.pack("<HH", av_id, len(value)) + value for av_id, value in pairs)
    return b"\x22" * 16 + fixed + body + struct.pack("<HH", 0, 0) + tail


@given(st.lists(_av_pair, max_size=6), st.binary(max_size=8))
def test_ntlmv2_responses_ending_in_msv_av_eol_parse(pairs, tail):
    # What real clients send (a trailing pad after MsvAvEOL included) is never refused.
    assert not session_setup._ntlmv2_malformed(_ntlmv2(pairs, tail))


@given(st.lists(_av_pair, min_size=1, max_size=6), st.data())
def test_ntlmv2_responses_cut_inside_their_av_pairs_do_not_parse(pairs, data):
    whole = _ntlmv2(pairs, b"")
    cut = data.draw(st.integers(16 + 28 + 1, len(whole) - 4))  # before MsvAvEOL is complete
    assert session_setup._ntlmv2_malformed(whole[:cut])
