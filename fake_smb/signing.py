"""SMB2 message signing: the algorithm a connection signs with, and the signatures.

MS-SMB2 3.1.4.1: 2.x signs with HMAC-SHA256, 3.0 and 3.0.2 with AES-128-CMAC;
a 3.1.1 client may offer a list in the SMB2_SIGNING_CAPABILITIES negotiate
context (2.2.3.1.7) and the server picks one (3.3.5.4).  Pure functions over
bytes; the connection layer signs responses and checks requests with them.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ibs.fake_smb.dialects import SMB_3_0, SMB_3_1_1

# SigningAlgorithmId values (MS-SMB2 2.2.3.1.7).
HMAC_SHA256 = 0x0000
AES_CMAC = 0x0001
AES_GMAC = 0x0002
NAMES = {HMAC_SHA256: "HMAC-SHA256", AES_CMAC: "AES-128-CMAC", AES_GMAC: "AES-128-GMAC"}
# Most preferred first, as Samba and Windows order them: when a client offers
# several, the server's order decides, not the client's.
SERVER_PREFERENCE = (AES_GMAC, AES_CMAC, HMAC_SHA256)

_FLAGS_SERVER_TO_REDIR = 0x00000001
_FLAGS_SIGNED = 0x00000008
_SMB2_CANCEL = 0x000C
_SIGNATURE = slice(48, 64)  # Signature field of the SMB2 header (MS-SMB2 2.2.1)
_ZERO_SIGNATURE = bytes(16)


def default_algorithm(dialect: int) -> int:
    """What a connection signs with when no signing context settled it."""
    return AES_CMAC if dialect >= SMB_3_0 else HMAC_SHA256


def choose(offered: list[int] | None, dialect: int) -> tuple[int, bool]:
    """(the connection's algorithm, whether the NEGOTIATE response names it).

    Only a 3.1.1 client's signing context counts.  With no algorithm in
    common the connection keeps AES-CMAC and the response has no signing
    context, so the client knows its list was not taken (Samba does the same).
    """
    if dialect < SMB_3_1_1 or not offered:
        return default_algorithm(dialect), False
    for algo in SERVER_PREFERENCE:
        if algo in offered:
            return algo, True
    return default_algorithm(dialect), False


def _gmac_nonce(message: bytes | bytearray | memoryview) -> bytes:
    """MessageId, then 4 bytes: bit 0 the response (server-to-redirector) flag,
    bit 1 set for SMB2 CANCEL (MS-SMB2 3.1.4.1), so a request and its response,
    or a CANCEL and the request it cancels, never share a nonce."""
    flags, command = struct.unpack_from("<I", message, 16)[0], struct.unpack_from("<H", message, 12)[0]
    role = (flags & _FLAGS_SERVER_TO_REDIR) | (0x2 if command == _SMB2_CANCEL else 0)
    return bytes(message[24:32]) + struct.pack("<I", role)


def signature(algo: int, key: bytes, message: bytes | bytearray | memoryview) -> bytes:
    """The 16-byte signature of one SMB2 message, its Signature field taken as zero.

    The message is fed in three pieces around that field rather than copied: a
    signed 8 MiB WRITE is checked at memory speed, not at copy speed.
    """
    view = memoryview(message)
    pieces = (view[:48], _ZERO_SIGNATURE, view[64:])
    if algo == AES_GMAC:
        # GMAC is GCM over no plaintext: the tag authenticates the associated data.
        gcm = Cipher(algorithms.AES(key[:16]), modes.GCM(_gmac_nonce(view))).encryptor()
        for piece in pieces:
            gcm.authenticate_additional_data(piece)
        gcm.finalize()
        return gcm.tag
    if algo == AES_CMAC:
        mac = cmac.CMAC(algorithms.AES(key[:16]))
    elif algo == HMAC_SHA256:
        mac = hmac.new(key, digestmod=hashlib.sha256)
    else:
        raise ValueError(f"unknown signing algorithm id {algo:#x}")
    for piece in pieces:
        mac.update(piece)
    return mac.finalize()[:16] if algo == AES_CMAC else mac.digest()[:16]


def sign_in_place(algo: int, key: bytes, buf: bytearray, start: int, end: int) -> None:
    """Set SMB2_FLAGS_SIGNED and sign the message buf[start:end] in place."""
    flags = struct.unpack_from("<I", buf, start + 16)[0] | _FLAGS_SIGNED
    struct.pack_into("<I", buf, start + 16, flags)
    buf[start + 48 : start + 64] = signature(algo, key, memoryview(buf)[start:end])


def is_signed(message: bytes | bytearray | memoryview) -> bool:
    return bool(struct.unpack_from("<I", message, 16)[0] & _FLAGS_SIGNED)


def verify(algo: int, key: bytes, message: bytes | bytearray | memoryview) -> bool:
    """Whether one signed SMB2 message (a single segment) carries its right signature."""
    return hmac.compare_digest(bytes(memoryview(message)[_SIGNATURE]), signature(algo, key, message))


def forged_segment(algo: int, key: bytes, session_id: int, message: bytes | bytearray | memoryview) -> bool:
    """Whether a request (a compound chain walked by NextCommand) has a segment that is
    signed for session_id but whose signature does not verify (MS-SMB2 3.3.5.2.4).

    Unsigned segments, and segments of other sessions, are not this key's to judge.
    """
    view = memoryview(message)
    start = 0
    while start + 64 <= len(view):
        next_command = struct.unpack_from("<I", view, start + 20)[0]
        end = start + next_command if next_command else len(view)
        segment = view[start:end]
        if (is_signed(segment) and struct.unpack_from("<Q", segment, 40)[0] == session_id
                and not verify(algo, key, segment)):
            return True
        if not next_command or end > len(view):
            return False
        start = end
    return False
