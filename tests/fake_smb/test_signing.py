"""SMB 3.1.1 signing negotiation (SMB2_SIGNING_CAPABILITIES) and the signatures on the wire.

The signatures are checked here from the raw bytes a relay recorded, with the spec's
algorithms written out in the test (MS-SMB2 3.1.4.1), not with fake_smb's code: a
GMAC nonce or a key mix-up in the server fails these even if the server agrees with
itself.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import uuid

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st
from smbprotocol.connection import Connection, Dialects
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import signing
from tests.fake_smb.conftest import PASSWORD, USER
from tests.fake_smb.raw_requests import open_file
from tests.fake_smb.relay import RecordingRelay, frames

HMAC_SHA256, AES_CMAC, AES_GMAC = 0, 1, 2
SIGNING_CAPABILITIES = 0x0008
FLAG_RESPONSE, FLAG_SIGNED = 0x1, 0x8
STATUS_PENDING = 0x00000103
STATUS_INVALID_PARAMETER = 0xC000000D
SMB2_SESSION_SETUP = 0x0001
SMB2_LOGOFF = 0x0002


def _spec_signature(algo: int, key: bytes, message: bytes) -> bytes:
    """MS-SMB2 3.1.4.1, written out from the spec for the test."""
    zeroed = message[:48] + bytes(16) + message[64:]
    if algo == AES_GMAC:
        flags, command = struct.unpack_from("<I", message, 16)[0], struct.unpack_from("<H", message, 12)[0]
        role = (1 if flags & FLAG_RESPONSE else 0) | (2 if command == 0x000C else 0)
        nonce = message[24:32] + role.to_bytes(4, "little")
        return AESGCM(key).encrypt(nonce, b"", zeroed)  # empty plaintext: the tag alone
    if algo == AES_CMAC:
        mac = cmac.CMAC(algorithms.AES(key))
        mac.update(zeroed)
        return mac.finalize()
    return hmac.new(key, zeroed, hashlib.sha256).digest()[:16]


def _negotiate_contexts(message: bytes) -> dict[int, bytes]:
    count, ctx_offset = struct.unpack_from("<H", message, 64 + 6)[0], struct.unpack_from("<I", message, 64 + 60)[0]
    out, pos = {}, ctx_offset
    for _ in range(count):
        ctype, length = struct.unpack_from("<HH", message, pos)
        out[ctype] = message[pos + 8 : pos + 8 + length]
        pos += 8 + length
        pos += -pos % 8
    return out


def _signed_session(server, offered: list[int]):
    """Log on through a relay with signing (no encryption), write and read a file; return
    (NEGOTIATE response, every other response, the client's signing key, session id)."""
    server.encryption = "off"  # signing is what protects these messages
    relay = RecordingRelay(server.port)
    conn = Connection(uuid.uuid4(), "127.0.0.1", relay.port, require_signing=True)
    try:
        conn.connect(dialect=Dialects.SMB_3_1_1, timeout=5, preferred_signing_algos=offered)
        session = Session(conn, USER, PASSWORD, require_encryption=False, auth_protocol="ntlm")
        session.connect()
        tree = TreeConnect(session, server.unc)
        tree.connect()
        fh = open_file(tree, "signed.bin")
        fh.write(b"signed, not sealed" * 100, 0)
        assert fh.read(0, 18) == b"signed, not sealed"
        fh.close()
        key, sid = session.signing_key, session.session_id
        session.disconnect()  # LOGOFF: its response is still signed with the session's key
    finally:
        conn.disconnect(close=False)
        relay.close()
    responses = frames(bytes(relay.to_client))
    return responses[0], responses[1:], key, sid


@pytest.mark.parametrize(("offered", "expected"), [
    ([AES_GMAC, AES_CMAC, HMAC_SHA256], AES_GMAC),
    ([HMAC_SHA256, AES_CMAC, AES_GMAC], AES_GMAC),  # the server's preference, not the client's order
    ([HMAC_SHA256, AES_CMAC], AES_CMAC),
    ([HMAC_SHA256], HMAC_SHA256),
])
def test_3_1_1_signing_algorithm_is_negotiated_and_signs_every_response(server, offered, expected):
    negotiate, responses, key, sid = _signed_session(server, offered)
    ctx = _negotiate_contexts(negotiate)[SIGNING_CAPABILITIES]
    assert struct.unpack("<HH", ctx) == (1, expected)

    signed, commands = 0, set()
    for message in responses:
        flags, status = struct.unpack_from("<I", message, 16)[0], struct.unpack_from("<I", message, 8)[0]
        if struct.unpack_from("<Q", message, 40)[0] != sid or status == STATUS_PENDING:
            continue
        if struct.unpack_from("<H", message, 12)[0] == SMB2_SESSION_SETUP and status != 0:
            continue  # the exchange's first leg: there is no key yet
        assert flags & FLAG_SIGNED, f"unsigned response {message[:64].hex()}"
        assert message[48:64] == _spec_signature(expected, key, message)
        signed += 1
        commands.add(struct.unpack_from("<H", message, 12)[0])
    assert signed >= 7  # session setup, tree connect, create, write, read, close, logoff
    assert SMB2_LOGOFF in commands


def test_gmac_signature_is_not_cmac_and_binds_the_response_role(server):
    # The GMAC tag covers the role bit through the nonce: the same bytes signed as a
    # request would carry a different tag, and CMAC with the same key does not match.
    _, responses, key, _ = _signed_session(server, [AES_GMAC])
    message = next(m for m in responses if struct.unpack_from("<H", m, 12)[0] == 0x0003)  # TREE_CONNECT
    zeroed = message[:48] + bytes(16) + message[64:]
    as_request = AESGCM(key).encrypt(message[24:32] + bytes(4), b"", zeroed)
    assert message[48:64] == _spec_signature(AES_GMAC, key, message)
    assert message[48:64] not in (as_request, _spec_signature(AES_CMAC, key, message))


# -- NEGOTIATE by hand: what smbprotocol would never send ---------------------------------
def _negotiate_request(contexts: list[tuple[int, bytes]]) -> bytes:
    header = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, bytes(16))
    dialects = struct.pack("<5H", 0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    fixed_len = 36 + len(dialects)
    pad = -(64 + fixed_len) % 8
    ctx_offset = 64 + fixed_len + pad
    blob = b""
    for i, (ctype, data) in enumerate(contexts):
        if i:
            blob += bytes(-len(blob) % 8)
        blob += struct.pack("<HHI", ctype, len(data), 0) + data
    body = struct.pack("<HHHHI16sIHH", 36, 5, 1, 0, 0x7F, uuid.uuid4().bytes, ctx_offset, len(contexts), 0)
    return header + body + dialects + bytes(pad) + blob


PREAUTH = (0x0001, struct.pack("<HHH", 1, 32, 0x0001) + bytes(32))


def _exchange_negotiate(server, contexts) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        request = _negotiate_request(contexts)
        sock.sendall(struct.pack(">I", len(request)) + request)
        head = sock.recv(4, socket.MSG_WAITALL)
        length = int.from_bytes(head[1:], "big")
        return sock.recv(length, socket.MSG_WAITALL)


def test_signing_context_without_algorithms_is_invalid_parameter(server):
    response = _exchange_negotiate(server, [PREAUTH, (SIGNING_CAPABILITIES, struct.pack("<H", 0))])
    assert struct.unpack_from("<I", response, 8)[0] == STATUS_INVALID_PARAMETER


def test_no_common_signing_algorithm_leaves_the_context_out(server):
    # Samba keeps AES-CMAC and answers no signing context, so the client sees its list refused.
    response = _exchange_negotiate(server, [PREAUTH, (SIGNING_CAPABILITIES, struct.pack("<HH", 1, 0x0042))])
    assert struct.unpack_from("<I", response, 8)[0] == 0
    assert struct.unpack_from("<H", response, 64 + 4)[0] == 0x0311
    assert SIGNING_CAPABILITIES not in _negotiate_contexts(response)



# -- signing.py's own round trip, as a property -------------------------------------------------
@given(st.sampled_from([HMAC_SHA256, AES_CMAC, AES_GMAC]), st.binary(min_size=16, max_size=16),
       st.binary(min_size=64, max_size=300), st.data())
def test_any_change_outside_the_signature_breaks_it(algo, key, raw, data):
    message = bytearray(b"\xfeSMB" + raw[4:])
    signing.sign_in_place(algo, key, message, 0, len(message))
    assert signing.verify(algo, key, message)
    assert bytes(message[48:64]) == _spec_signature(algo, key, bytes(message))
    spot = data.draw(st.integers(0, len(message) - 1).filter(lambda i: not 48 <= i < 64))
    message[spot] ^= data.draw(st.integers(1, 255))
    assert not signing.verify(algo, key, message)
