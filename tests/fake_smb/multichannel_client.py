"""A small SMB 3 client that binds channels: smbprotocol and impacket cannot.

One ``Channel`` is one TCP connection: NEGOTIATE (3.0 or 3.1.1, asking for
SMB2_GLOBAL_CAP_MULTI_CHANNEL), then either a logon of its own or a bind to a session of
another channel (MS-SMB2 3.2.5.3, SESSION_SETUP with SMB2_SESSION_FLAG_BINDING, signed with
the session's key).  Keys come from the ``cryptography`` package's SP 800-108 KDF and MACs,
not from fake_smb, so a fault in fake_smb's derivation shows as a bad signature here.
Encryption is not spoken: the servers are asked for no cipher.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode
from impacket import ntlm

SMB_3_0, SMB_3_1_1 = 0x0300, 0x0311
HMAC_SHA256, AES_CMAC, AES_GMAC = 0, 1, 2
NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, CREATE, CLOSE, READ, WRITE, LOCK = 0, 1, 2, 3, 5, 6, 8, 9, 10
STATUS_SUCCESS, STATUS_PENDING, STATUS_MORE_PROCESSING_REQUIRED = 0, 0x103, 0xC0000016
CAP_MULTI_CHANNEL = 0x08
FLAG_RESPONSE, FLAG_ASYNC, FLAG_SIGNED = 0x1, 0x2, 0x8
SESSION_FLAG_BINDING = 0x01
LOCK_EXCLUSIVE_NOW, LOCK_UNLOCK = 0x02 | 0x10, 0x04
_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


def kdf(key: bytes, label: bytes, context: bytes) -> bytes:
    return KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode, length=16, rlen=4, llen=4,
                     location=CounterLocation.BeforeFixed, label=label, context=context,
                     fixed=None).derive(key)


def signing_key(session_key: bytes, dialect: int, preauth: bytes) -> bytes:
    if dialect == SMB_3_1_1:
        return kdf(session_key, b"SMBSigningKey\x00", preauth)
    return kdf(session_key, b"SMB2AESCMAC\x00", b"SmbSign\x00")


def signature(algo: int, key: bytes, message: bytes) -> bytes:
    zeroed = message[:48] + bytes(16) + message[64:]
    if algo == HMAC_SHA256:
        return hmac.new(key, zeroed, hashlib.sha256).digest()[:16]
    if algo == AES_CMAC:
        mac = cmac.CMAC(algorithms.AES(key))
        mac.update(zeroed)
        return mac.finalize()
    flags, command = struct.unpack_from("<I", message, 16)[0], struct.unpack_from("<H", message, 12)[0]
    nonce = message[24:32] + struct.pack("<I", (flags & FLAG_RESPONSE) | (2 if command == 0x0C else 0))
    return AESGCM(key).encrypt(nonce, b"", zeroed)  # GMAC: the tag of no plaintext


@dataclass
class Reply:
    status: int
    session_id: int
    body: bytes
    raw: bytes


@dataclass
class SessionKey:
    session_id: int
    key: bytes
    algo: int


class ProtocolError(AssertionError):
    pass


class Channel:
    def __init__(self, port: int, dialect: int = SMB_3_1_1, client_guid: bytes | None = None,
                 signing_algo: int | None = None, multichannel: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.dialect, self.message_id, self.tree_id = dialect, 0, 0
        self.preauth = bytes(64)
        self.algo = AES_CMAC
        self.caps = 0
        self.session: SessionKey | None = None  # what this channel signs with
        self.client_guid = client_guid or uuid.uuid4().bytes
        self._negotiate(self.client_guid, signing_algo, multichannel)

    def close(self) -> None:
        self.sock.close()

    # -- the wire ---------------------------------------------------------------------------
    def _recv(self) -> bytes:
        head = self.sock.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            raise ConnectionError("the server closed the connection")
        return self.sock.recv(int.from_bytes(head[1:], "big"), socket.MSG_WAITALL)

    def call(self, command: int, body: bytes, session: SessionKey | None = None, sign: bool = True,
             session_id: int | None = None, flags: int = 0) -> Reply:
        """Send one request (signed with ``session``'s key, else this channel's) and return its
        final answer, its signature checked when it is signed."""
        keys = session or self.session
        sid = session_id if session_id is not None else (keys.session_id if keys else 0)
        message = bytearray(_HEADER.pack(b"\xfeSMB", 64, 1, 0, command, 1, flags, 0, self.message_id, 0,
                                         self.tree_id, sid, bytes(16)) + body)
        self.message_id += 1
        if sign and keys is not None:
            struct.pack_into("<I", message, 16, flags | FLAG_SIGNED)
            message[48:64] = signature(keys.algo, keys.key, bytes(message))
        self.last_request = bytes(message)
        self.sock.sendall(struct.pack(">I", len(message)) + message)
        while True:
            raw = self._recv()
            status, rflags = struct.unpack_from("<I", raw, 8)[0], struct.unpack_from("<I", raw, 16)[0]
            if not (status == STATUS_PENDING and rflags & FLAG_ASYNC):
                break
        return Reply(status, struct.unpack_from("<Q", raw, 40)[0], raw[64:], raw)

    def verify(self, reply: Reply, key: SessionKey) -> bool:
        flags = struct.unpack_from("<I", reply.raw, 16)[0]
        return bool(flags & FLAG_SIGNED) and reply.raw[48:64] == signature(key.algo, key.key, reply.raw)

    # -- NEGOTIATE and SESSION_SETUP --------------------------------------------------------
    def _negotiate(self, client_guid: bytes, signing_algo: int | None, multichannel: bool) -> None:
        caps = CAP_MULTI_CHANNEL if multichannel else 0
        contexts = b""
        count = 0
        if self.dialect == SMB_3_1_1:
            preauth = struct.pack("<HHH", 1, 32, 1) + bytes(32)
            contexts = struct.pack("<HHI", 1, len(preauth), 0) + preauth
            count = 1
            if signing_algo is not None:
                contexts += bytes(-len(contexts) % 8)
                contexts += struct.pack("<HHIHH", 8, 4, 0, 1, signing_algo)
                count = 2
        offset = 64 + 36 + 2 + 2 if count else 0  # after the one dialect, aligned to 8
        body = struct.pack("<HHHHI16sIHHH", 36, 1, 1, 0, caps, client_guid, offset, count, 0, self.dialect)
        if count:
            body += bytes(2) + contexts
        request = _HEADER.pack(b"\xfeSMB", 64, 0, 0, NEGOTIATE, 1, 0, 0, 0, 0, 0, 0, bytes(16)) + body
        self.message_id = 1
        self.sock.sendall(struct.pack(">I", len(request)) + request)
        raw = self._recv()
        if struct.unpack_from("<I", raw, 8)[0] != STATUS_SUCCESS:
            raise ProtocolError(f"NEGOTIATE failed: {struct.unpack_from('<I', raw, 8)[0]:#x}")
        self.caps = struct.unpack_from("<I", raw, 64 + 24)[0]
        if self.dialect == SMB_3_1_1:
            self.preauth = hashlib.sha512(hashlib.sha512(bytes(64) + request).digest() + raw).digest()
            self.algo = signing_algo if signing_algo is not None and self._chosen_signing(raw) else AES_CMAC

    @staticmethod
    def _chosen_signing(raw: bytes) -> bool:
        offset, count = struct.unpack_from("<IH", raw, 64 + 60)[0], struct.unpack_from("<H", raw, 64 + 6)[0]
        pos = offset
        for _ in range(count):
            ctype, length = struct.unpack_from("<HH", raw, pos)
            if ctype == 8:
                return True
            pos += 8 + length
            pos += -pos % 8
        return False

    def logon(self, user: str, password: str, bind_to: SessionKey | None = None) -> Reply:
        """Raw NTLMSSP in two legs; with bind_to, a bind of this channel to that session.
        On success this channel signs with the key it derived (the channel's own for a bind)."""
        flags = SESSION_FLAG_BINDING if bind_to else 0
        session_preauth = self.preauth
        type1 = ntlm.getNTLMSSPType1("", "")
        sid = bind_to.session_id if bind_to else 0
        reply = self._setup(type1.getData(), flags, bind_to, sid)
        session_preauth = hashlib.sha512(session_preauth + self.last_request).digest()
        if reply.status != STATUS_MORE_PROCESSING_REQUIRED:
            return reply
        session_preauth = hashlib.sha512(session_preauth + reply.raw).digest()
        offset, length = struct.unpack_from("<HH", reply.body, 4)
        challenge = reply.body[offset - 64 : offset - 64 + length]
        type3, exported = ntlm.getNTLMSSPType3(type1, challenge, user, password, "")
        final = self._setup(type3.getData(), flags, bind_to, reply.session_id)
        session_preauth = hashlib.sha512(session_preauth + self.last_request).digest()
        if final.status == STATUS_SUCCESS:
            key = SessionKey(final.session_id, signing_key(exported, self.dialect, session_preauth), self.algo)
            if not self.verify(final, key):
                raise ProtocolError("the final SESSION_SETUP answer is not signed with the derived key")
            self.session = key
        return final

    def _setup(self, token: bytes, flags: int, bind_to: SessionKey | None, session_id: int) -> Reply:
        body = struct.pack("<HBBIIHHQ", 25, flags, 1, 0, 0, 64 + 24, len(token), 0) + token
        return self.call(SESSION_SETUP, body, session=bind_to, sign=bind_to is not None, session_id=session_id)

    # -- file requests ----------------------------------------------------------------------
    def tree_connect(self, unc: str) -> int:
        path = unc.encode("utf-16le")
        reply = self.call(TREE_CONNECT, struct.pack("<HHHH", 9, 0, 72, len(path)) + path)
        if reply.status != STATUS_SUCCESS:
            raise ProtocolError(f"TREE_CONNECT failed: {reply.status:#x}")
        self.tree_id = struct.unpack_from("<I", reply.raw, 36)[0]
        return self.tree_id

    def create(self, name: str, share: int = 7) -> bytes:
        """Open or create a file for reading and writing, sharing all unless ``share`` says."""
        reply = self.try_create(name, share)
        if reply.status != STATUS_SUCCESS:
            raise ProtocolError(f"CREATE failed: {reply.status:#x}")
        return reply.body[64:80]

    def try_create(self, name: str, share: int = 7) -> Reply:
        encoded = name.encode("utf-16le")
        # GENERIC_READ|GENERIC_WRITE-ish access, FILE_OPEN_IF, non-directory.
        body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x0012019F, 0, share, 3, 0x40,
                           120, len(encoded), 0, 0) + encoded
        return self.call(CREATE, body)

    def write(self, file_id: bytes, data: bytes) -> int:
        body = struct.pack("<HHIQ16sIIHHI", 49, 112, len(data), 0, file_id, 0, 0, 0, 0, 0) + data
        return self.call(WRITE, body).status

    def read(self, file_id: bytes, length: int, session: SessionKey | None = None) -> tuple[int, bytes]:
        """READ, signed with this channel's key or ``session``'s (and naming that session)."""
        body = struct.pack("<HBBIQ16sIIIHH", 49, 0, 0, length, 0, file_id, 0, 0, 0, 0, 0) + b"\x00"
        reply = self.call(READ, body, session=session)
        if reply.status != STATUS_SUCCESS:
            return reply.status, b""
        offset, count = reply.body[2], struct.unpack_from("<I", reply.body, 4)[0]
        return reply.status, reply.body[offset - 64 : offset - 64 + count]

    def lock(self, file_id: bytes, sequence: int, flags: int, offset: int = 100, length: int = 100) -> int:
        body = struct.pack("<HHI16s", 48, 1, sequence, file_id) + struct.pack("<QQI4x", offset, length, flags)
        return self.call(LOCK, body).status

    def close_file(self, file_id: bytes) -> int:
        return self.call(CLOSE, struct.pack("<HHI16s", 24, 0, 0, file_id)).status

    def logoff(self) -> int:
        return self.call(LOGOFF, struct.pack("<HH", 4, 0)).status
