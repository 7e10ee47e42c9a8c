"""One TCP connection: framing, the SMB 3 transform, signing, credits, faults.

impacket's own connection handler reads NetBIOS frames and hands them to
``SMBSERVER.processRequest``; this replaces that loop so that the bytes can be
decrypted before and signed/encrypted after impacket's dispatcher runs, and
so that stop() can cut a connection at once.
"""

from __future__ import annotations

import select
import socket
import socketserver
import struct
import threading
import time

from impacket.nt_errors import STATUS_ACCESS_DENIED, STATUS_MORE_PROCESSING_REQUIRED, STATUS_PENDING

from ibs.fake_smb import channels, compound, crypto, fast_path, notify, signing
from ibs.fake_smb.dialects import SMB_3_1_1
from ibs.fake_smb.faults import DropConnection
from ibs.fake_smb.state import ConnState, get_state

SMB2_PROTOCOL_ID = b"\xfeSMB"
SMB2_NEGOTIATE = 0x0000
SMB2_SESSION_SETUP = 0x0001
_ERROR_BODY = struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # SMB2 ERROR (MS-SMB2 2.2.2)
_MAX_FRAME = 0x00FFFFFF  # 24-bit Direct TCP length (MS-SMB2 2.1)


class _Closed(Exception):
    pass


class SmbConnectionHandler(socketserver.BaseRequestHandler):
    def setup(self) -> None:
        self.server.track_socket(self.request)
        self.conn_id = threading.current_thread().name
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send_lock = threading.Lock()  # push() may send from another connection's thread

    def handle(self) -> None:
        srv = self.server
        srv.addConnection(self.conn_id, *self.client_address[:2])
        srv.getConnectionData(self.conn_id, checkStatus=False)["PushMessage"] = self.push
        try:
            self._loop()
        except (_Closed, DropConnection, ConnectionError, OSError, crypto.DecryptError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the server, only this connection
            srv.log(f"connection {self.conn_id} failed: {exc!r}")
        finally:
            try:
                # However the connection ended (FIN, RST, stop(), a bug), its opens go with it,
                # unless a channel on another connection carries their session on (channels.py).
                channels.connection_closed(srv, self.conn_id, srv.getConnectionData(self.conn_id, checkStatus=False))
            finally:
                srv.removeConnection(self.conn_id)
                srv.untrack_socket(self.request)

    # -- framing ---------------------------------------------------------
    def _recv_exact(self, n: int) -> bytearray:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.request.recv_into(view[got:], n - got)
            if k == 0:
                raise _Closed()
            got += k
        return buf

    def _read_frame(self) -> bytearray | None:
        while True:
            head = self._recv_exact(4)
            kind, length = head[0], struct.unpack(">I", b"\x00" + bytes(head[1:]))[0]
            if kind == 0x85:  # NetBIOS keep-alive
                continue
            if kind != 0x00:
                raise _Closed()
            return self._recv_exact(length)

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self.request.sendall(struct.pack(">I", len(data)) + data)

    def push(self, message: bytes) -> None:
        """Send a message no request is waiting on (an async LOCK's interim and final answers,
        lock_handler.py; an oplock break, and the answers of a CREATE that waited for one,
        oplock_wire.py), from any thread; signed, or encrypted when the session encrypts
        (fake_smb encrypts a session wholly or not at all).  A connection already gone drops
        it."""
        try:
            state = get_state(self.server.getConnectionData(self.conn_id, checkStatus=False))
            self._send(self._finish(state, bytearray(message), False))
        except (OSError, KeyError):
            pass

    # -- the loop ----------------------------------------------------------
    def _loop(self) -> None:
        srv = self.server
        cfg = srv.fake_config
        state = get_state(srv.getConnectionData(self.conn_id, checkStatus=False))
        conn_data = srv.getConnectionData(self.conn_id, checkStatus=False)
        while not cfg.stopping.is_set():
            if not self._wait_for_frame(state, conn_data):
                continue
            frame = self._read_frame()
            state.bytes_moved += len(frame) + 4
            if self._stalled(state):
                return self._black_hole()
            for out in self._process(state, frame):
                state.bytes_moved += len(out) + 4
                self._send(out)

    def _wait_for_frame(self, state: ConnState, conn_data: dict) -> bool:
        """True once a frame is arriving; False after sending interim responses that fell due
        first (a CHANGE_NOTIFY still pending, notify.py)."""
        due = notify.next_interim(conn_data)
        if due is None:
            return True
        ready, _, _ = select.select([self.request], [], [], max(0.0, due - time.monotonic()))
        if ready:
            return True
        for interim in notify.interim_responses(conn_data, time.monotonic()):
            out = self._finish(state, bytearray(interim), False)
            state.bytes_moved += len(out) + 4
            self._send(out)
        return False

    def _stalled(self, state: ConnState) -> bool:
        limit = self.server.fake_config.faults.stall_after_bytes
        return limit is not None and state.bytes_moved >= limit

    def _black_hole(self) -> None:
        """Answer nothing, swallow everything, until the peer or stop() closes."""
        stopping = self.server.fake_config.stopping
        while not stopping.is_set():
            ready, _, _ = select.select([self.request], [], [], 0.05)
            if ready and not self.request.recv(65536):
                return

    def _process(self, state: ConnState, frame: bytearray) -> list[bytes]:
        """The messages that answer one frame, in the order they go out."""
        encrypted = frame[:4] == crypto.TRANSFORM_PROTOCOL_ID
        if encrypted:
            # MS-SMB2 3.3.5.2.1: a transform we cannot open ends the connection.  Any live
            # session's opens it, as smbd does: the session may have a channel here.
            keys_state = channels.decrypting_state(self.server, self.conn_id, crypto.transform_session_id(frame), state)
            if keys_state is None or keys_state.keys is None or not keys_state.can_encrypt:
                raise _Closed()
            message = crypto.decrypt(keys_state.keys, keys_state.cipher_id, frame)
        elif frame[:4] == SMB2_PROTOCOL_ID:
            message = bytes(frame)
        else:
            raise _Closed()  # SMB1 or garbage: this server speaks SMB2/3 only
        if len(message) < 64:
            raise _Closed()
        command = struct.unpack_from("<H", message, 12)[0]
        own = state
        state = channels.for_request(self.server, self.conn_id, message, own)  # a channel's, or own

        if not encrypted and not signing.is_signed(message) and channels.is_bound_channel(
                self.server, self.conn_id, message):
            # A channel exists for signing: smbd refuses a request on it that is neither signed
            # nor sealed (signing is required on a bound session).
            denied = fast_path.response_header(message, STATUS_ACCESS_DENIED, state.session_id) + _ERROR_BODY
            return [self._finish(state, bytearray(denied), False)]

        if state.encrypt_data and not encrypted and command not in (SMB2_NEGOTIATE, SMB2_SESSION_SETUP):
            # MS-SMB2 3.3.5.2.9: Session.EncryptData and an unencrypted request (a CANCEL has no answer).
            if command == notify.CANCEL:
                return []
            denied = fast_path.response_header(message, STATUS_ACCESS_DENIED, state.session_id) + _ERROR_BODY
            return [self._finish(state, bytearray(denied), False)]

        if not encrypted and state.keys is not None and signing.forged_segment(
                state.keys.signing_algorithm, state.keys.signing, state.session_id, message):
            # MS-SMB2 3.3.5.2.4: a signed request whose signature does not verify is refused.
            denied = fast_path.response_header(message, STATUS_ACCESS_DENIED, state.session_id) + _ERROR_BODY
            return [self._finish(state, bytearray(denied), False)]

        if state.dialect == SMB_3_1_1 or command == SMB2_NEGOTIATE:
            self._preauth_request(state, command, message)
        conn_data = self.server.getConnectionData(self.conn_id, checkStatus=False)
        if compound.is_compound(message):
            try:
                answers = compound.run(message, conn_data, self._dispatch, self.server.log)
            except compound.MalformedChain as exc:
                self.server.log(f"connection {self.conn_id}: {exc}; dropping it")
                raise _Closed() from exc
        else:
            answer = self._dispatch(message)
            answers = [] if answer is None else [answer]
        # A CHANGE_NOTIFY whose directory this request closed completes first.
        answers = notify.orphaned(conn_data) + answers
        return [self._finish(own, bytearray(out), encrypted) for out in answers]

    def _dispatch(self, message: bytes) -> bytes | None:
        """The response to one standalone request: our READ/WRITE fast path, the async
        CHANGE_NOTIFY and its CANCEL, else impacket; on the connData of the request's
        session here, a bound channel's or the connection's own (channels.py)."""
        command = struct.unpack_from("<H", message, 12)[0]
        conn_id = channels.route(self.server, self.conn_id, message)
        if command in (notify.CHANGE_NOTIFY, notify.CANCEL):
            conn_data = self.server.getConnectionData(conn_id, checkStatus=False)
            if command == notify.CHANGE_NOTIFY:
                return notify.change_notify(conn_data, message)
            # A CANCEL names a pending CHANGE_NOTIFY or else a waiting LOCK (lock_handler.py).
            cancelled = notify.cancel(conn_data, message)
            if cancelled is not None:
                return cancelled
        fast = fast_path.try_fast(self.server, conn_id, message)
        if fast is not None:
            return fast or None  # b"": answered already (fast_path)
        reply = self.server.processRequest(conn_id, message)
        if not reply or not reply[0]:
            return None  # e.g. CANCEL, or a LOCK or CREATE already answered as pending
        return reply[0].getData() if hasattr(reply[0], "getData") else reply[0]

    # -- pre-authentication integrity (MS-SMB2 3.3.5.4, 3.3.5.5) -------------
    @staticmethod
    def _preauth_request(state: ConnState, command: int, message: bytes) -> None:
        if command == SMB2_NEGOTIATE:
            state.preauth = crypto.preauth_update(b"\x00" * 64, message)
        elif command == SMB2_SESSION_SETUP and state.dialect == SMB_3_1_1:
            if struct.unpack_from("<Q", message, 40)[0] == 0:
                state.session_preauth = state.preauth  # a new session starts here
            state.session_preauth = crypto.preauth_update(state.session_preauth, message)

    # -- responses -----------------------------------------------------------
    def _finish(self, state: ConnState, out: bytearray, encrypt: bool) -> bytes:
        # Signed and sealed with the keys of the session it answers for on this connection.
        state = channels.state_for(self.server, self.conn_id, struct.unpack_from("<Q", out, 40)[0], state)
        start = 0
        segments = []
        while True:
            next_cmd = struct.unpack_from("<I", out, start + 20)[0]
            end = start + next_cmd if next_cmd else len(out)
            segments.append((start, end))
            # Grant what was asked, at least one (MS-SMB2 3.3.1.2); impacket
            # echoes the request's CreditRequest.
            if struct.unpack_from("<H", out, start + 14)[0] == 0:
                struct.pack_into("<H", out, start + 14, 1)
            if not next_cmd:
                break
            start = end

        cmd, status = struct.unpack_from("<H", out, 12)[0], struct.unpack_from("<I", out, 8)[0]
        if cmd == SMB2_NEGOTIATE and state.dialect == SMB_3_1_1:
            state.preauth = crypto.preauth_update(state.preauth, out)

        # Answer encrypted what came encrypted, and everything on a session
        # that demands encryption -- except the SESSION_SETUP that creates it,
        # since the client cannot decrypt before it has derived its keys.
        encrypt = state.keys is not None and (
            encrypt or (state.encrypt_data and cmd not in (SMB2_NEGOTIATE, SMB2_SESSION_SETUP))
        )
        if state.keys is not None and not encrypt:
            for s, e in segments:
                sid = struct.unpack_from("<Q", out, s + 40)[0]
                seg_status = struct.unpack_from("<I", out, s + 8)[0]
                if sid == state.session_id and seg_status != STATUS_PENDING:
                    crypto.sign_in_place(state.keys, out, s, e)
        if cmd == SMB2_SESSION_SETUP and status == STATUS_MORE_PROCESSING_REQUIRED and state.dialect == SMB_3_1_1:
            # The hash covers the answer as sent: a bind's interim answers are signed.
            state.session_preauth = crypto.preauth_update(state.session_preauth, out)
        wire = crypto.encrypt(state.keys, state.cipher_id, state.session_id, bytes(out)) if encrypt else bytes(out)
        if state.after_reply is not None:  # a session ending with this response (session_end.py)
            state.after_reply, ending = None, state.after_reply
            ending()
        return wire
