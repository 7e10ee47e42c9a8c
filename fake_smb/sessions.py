"""Sessions across connections: the checks a bind gets, LOGOFF, and the end of a session.

impacket keeps one session per connection inside the connection's data.  A
client may still name a session of another connection: to bind a channel to
it (SMB2_SESSION_FLAG_BINDING, MS-SMB2 3.3.5.5), or by mistake.  The
server-wide table here remembers what each session was negotiated with
(dialect, cipher, signing algorithm), on which connection and for which user,
and ``bind_refusal`` walks Samba's checks in Samba's order; a bind that passes
them all gets a channel (channels.py).  How a session ends is session_end.py.
"""

from __future__ import annotations

import struct
import threading
import weakref
from dataclasses import dataclass, replace

from impacket.nt_errors import (
    STATUS_INVALID_PARAMETER,
    STATUS_NOT_SUPPORTED,
    STATUS_REQUEST_NOT_ACCEPTED,
    STATUS_SUCCESS,
    STATUS_USER_SESSION_DELETED,
)

from ibs.fake_smb import fast_path, signing
from ibs.fake_smb.crypto import SessionKeys
from ibs.fake_smb.dialects import SMB_3_0
from ibs.fake_smb.state import ConnState, get_state

STATUS_REQUEST_OUT_OF_SEQUENCE = 0xC000042A  # not in impacket's table
SMB2_SESSION_FLAG_BINDING = 0x01
SMB2_ECHO = 0x000D
SMB2_SESSION_SETUP = 0x0001
SESSION_SETUP_KEY = "FakeSmbSessionSetup"  # connData: the SESSION_SETUP being handled, as it came
_NO_SESSION_NEEDED = (0x0000, 0x0001, 0x000C)  # NEGOTIATE, SESSION_SETUP, CANCEL
_ECHO_RESPONSE = struct.pack("<HH", 4, 0)  # MS-SMB2 2.2.29
_ERROR_BODY = struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # MS-SMB2 2.2.2


@dataclass(frozen=True)
class SessionRecord:
    """What a bind is checked against: the session's first connection's negotiation."""

    dialect: int
    cipher_id: int
    sign_algo: int
    conn: weakref.ref  # the ConnState carrying it; the session is gone once that is
    conn_id: str = ""  # that connData's id with impacket
    user: str = ""  # who logged on: a bind must be the same user
    keys: SessionKeys | None = None  # as first derived: Session.SigningKey signs a bind


class SessionTable:
    """Every live session of the server, by SessionId (MS-SMB2 GlobalSessionTable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[int, SessionRecord] = {}

    def add(self, session_id: int, state: ConnState, conn_id: str = "", user: str = "") -> None:
        record = SessionRecord(state.dialect, state.cipher_id, state.sign_algo, weakref.ref(state), conn_id,
                               user.lower(), state.keys)
        with self._lock:
            self._sessions[session_id] = record

    def carry_on(self, session_id: int, state: ConnState, conn_id: str) -> None:
        """The session's first connection ended; this channel carries it from now on."""
        with self._lock:
            record = self._sessions.get(session_id)
            if record is not None:
                self._sessions[session_id] = replace(record, conn=weakref.ref(state), conn_id=conn_id)

    def remove(self, session_id: int) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def keys(self, session_id: int) -> SessionKeys | None:
        """The live session's keys (Session.SigningKey, not a channel's), None when there is
        no such session."""
        record = self.get(session_id)
        return record.keys if record is not None else None

    def get(self, session_id: int) -> SessionRecord | None:
        with self._lock:
            record = self._sessions.get(session_id)
        if record is None:
            return None
        state = record.conn()
        # A connection that ended without LOGOFF took its session with it.
        if state is None or state.session_id != session_id or state.keys is None:
            self.remove(session_id)
            return None
        return record


def bind_refusal(table: SessionTable, state: ConnState, message: bytes) -> int:
    """The status a SESSION_SETUP with SMB2_SESSION_FLAG_BINDING gets on this connection,
    STATUS_SUCCESS for a bind to authenticate.

    The order is smbd's (smbd_smb2_session_setup_send): the signing-algorithm
    checks come before the dialect checks, and the request must be signed.
    """
    session_id = struct.unpack_from("<Q", message, 40)[0]
    if session_id == 0:
        return STATUS_INVALID_PARAMETER
    session = table.get(session_id)
    keys = table.keys(session_id)
    if session is None or keys is None:
        return STATUS_USER_SESSION_DELETED
    if state.session_id == session_id and state.keys is not None:
        keys = state.keys  # a channel of the session here already: its own key signs
    # Signed with the session's key (MS-SMB2 3.3.5.2.4); a signature that does not verify
    # counts as none, as smbd takes it.
    signed = signing.is_signed(message) and signing.verify(keys.signing_algorithm, keys.signing, message)
    # AES-GMAC sessions bind only over AES-GMAC connections, and the other way round.
    if session.sign_algo >= signing.AES_GMAC and state.sign_algo != session.sign_algo:
        return STATUS_REQUEST_OUT_OF_SEQUENCE
    if state.sign_algo >= signing.AES_GMAC and session.sign_algo != state.sign_algo:
        return STATUS_NOT_SUPPORTED
    if state.dialect < SMB_3_0:
        return STATUS_REQUEST_NOT_ACCEPTED
    if not signed:
        return STATUS_INVALID_PARAMETER
    if session.dialect != state.dialect or session.cipher_id != state.cipher_id:
        return STATUS_INVALID_PARAMETER
    return STATUS_SUCCESS


def refusal(table: SessionTable, message: bytes, status: int, signed: bool) -> bytes:
    """An error response to a SESSION_SETUP naming a session of another connection.

    When the request was signed (a client signs a bind with the session's key), the
    answer is signed with that session's key too, as smbd does: a client that signed
    refuses an unsigned answer before it looks at the status.
    """
    session_id = struct.unpack_from("<Q", message, 40)[0]
    response = bytearray(fast_path.response_header(message, status, session_id) + _ERROR_BODY)
    # Padded to 8 bytes here, as impacket would pad it after it was signed.
    response += bytes(-len(response) % 8)
    keys = table.keys(session_id) if signed else None
    if keys is not None:
        signing.sign_in_place(keys.signing_algorithm, keys.signing, response, 0, len(response))
    return bytes(response)


def answer_without_session(conn_data: dict, message: bytes) -> bytes | None:
    """The answer to a lone request that does not reach a session's handlers, None for the
    requests impacket's dispatcher should see (MS-SMB2 3.3.5.2.9).

    ECHO needs no session: a client keeps its connection alive with it after logging
    off.  A request naming no session of this connection (one logged off, one of another
    connection) is USER_SESSION_DELETED, as smbd answers it; impacket would say
    ACCESS_DENIED.  A session still logging on is left to impacket.
    """
    if len(message) < 64 or message[:4] != b"\xfeSMB":
        return None
    get_state(conn_data).request_signed = signing.is_signed(message)
    if struct.unpack_from("<H", message, 12)[0] == SMB2_SESSION_SETUP:
        conn_data[SESSION_SETUP_KEY] = message  # as signed: impacket's parse overwrites the signature
    command, next_command = struct.unpack_from("<H", message, 12)[0], struct.unpack_from("<I", message, 20)[0]
    if next_command:
        return None  # compound chains are the dispatcher's
    session_id = struct.unpack_from("<Q", message, 40)[0]
    if command == SMB2_ECHO:
        return fast_path.response_header(message, STATUS_SUCCESS, session_id) + _ECHO_RESPONSE
    if command in _NO_SESSION_NEEDED or session_id == conn_data.get("Uid"):
        return None
    return fast_path.response_header(message, STATUS_USER_SESSION_DELETED, session_id) + _ERROR_BODY
