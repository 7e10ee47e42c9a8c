"""SMB 3 key derivation, message signing and the encryption transform.

Pure functions over bytes, no sockets: the connection layer feeds them.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import (
    KBKDFHMAC,
    CounterLocation,
    Mode,
)

from ibs.fake_smb import signing
from ibs.fake_smb.dialects import SMB_3_0, SMB_3_1_1

# Cipher ids of the SMB2_ENCRYPTION_CAPABILITIES context (MS-SMB2 2.2.3.1.2).
AES_128_CCM = 0x0001
AES_128_GCM = 0x0002
AES_256_CCM = 0x0003
AES_256_GCM = 0x0004
SUPPORTED_CIPHERS = (AES_128_GCM, AES_128_CCM, AES_256_GCM, AES_256_CCM)
_AES_256 = (AES_256_CCM, AES_256_GCM)

TRANSFORM_PROTOCOL_ID = b"\xfdSMB"
TRANSFORM_HEADER_SIZE = 52


def kdf(key: bytes, label: bytes, context: bytes, length: int = 16) -> bytes:
    """SP800-108 KDF in counter mode with HMAC-SHA256 (MS-SMB2 3.1.4.2).

    r = 32, L = 8 * length (128, or 256 for the AES-256 cipher keys);
    cryptography inserts the 0x00 separator between label and context, which
    is what MS-SMB2 asks for.
    """
    return KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=length,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=label,
        context=context,
        fixed=None,
    ).derive(key)


@dataclass(frozen=True)
class SessionKeys:
    """The keys of one authenticated session, seen from the server side."""

    dialect: int
    signing: bytes
    encrypt: bytes  # server -> client (Session.EncryptionKey)
    decrypt: bytes  # client -> server (Session.DecryptionKey)
    sign_algo: int | None = None  # None: the dialect's own (signing.default_algorithm)

    @property
    def signing_algorithm(self) -> int:
        return signing.default_algorithm(self.dialect) if self.sign_algo is None else self.sign_algo


def derive_keys(session_key: bytes, dialect: int, preauth_hash: bytes, cipher_id: int = 0,
                sign_algo: int | None = None) -> SessionKeys:
    """Derive the session keys per MS-SMB2 3.3.5.5.3.

    SMB 3.0/3.0.2 use constant contexts; 3.1.1 uses the session's
    pre-authentication integrity hash as the context.  2.x signs with the
    session key itself (HMAC-SHA256) and has no encryption.  With an AES-256
    cipher (3.1.1 only) the cipher keys are 256 bits, derived from the full
    session key with L = 256; the signing key stays 128 bits, whichever
    algorithm (sign_algo, 3.1.1's signing context) signs with it.
    """
    key = session_key[:16].ljust(16, b"\x00")
    if dialect >= SMB_3_1_1:
        cipher_key, cipher_len = (session_key, 32) if cipher_id in _AES_256 else (key, 16)
        return SessionKeys(
            dialect,
            kdf(key, b"SMBSigningKey\x00", preauth_hash),
            kdf(cipher_key, b"SMBS2CCipherKey\x00", preauth_hash, cipher_len),
            kdf(cipher_key, b"SMBC2SCipherKey\x00", preauth_hash, cipher_len),
            sign_algo,
        )
    if dialect >= SMB_3_0:
        return SessionKeys(
            dialect,
            kdf(key, b"SMB2AESCMAC\x00", b"SmbSign\x00"),
            kdf(key, b"SMB2AESCCM\x00", b"ServerOut\x00"),
            kdf(key, b"SMB2AESCCM\x00", b"ServerIn \x00"),
        )
    return SessionKeys(dialect, key, b"", b"")


def signature(keys: SessionKeys, message: bytes | bytearray) -> bytes:
    """Signature of one SMB2 message whose Signature field is zero (MS-SMB2 3.1.4.1)."""
    return signing.signature(keys.signing_algorithm, keys.signing, message)


def sign_in_place(keys: SessionKeys, buf: bytearray, start: int, end: int) -> None:
    """Set SMB2_FLAGS_SIGNED and sign the message buf[start:end] in place."""
    signing.sign_in_place(keys.signing_algorithm, keys.signing, buf, start, end)


def _aead(cipher_id: int, key: bytes) -> tuple[AESCCM | AESGCM, int]:
    # The key length (16 or 32 bytes) picks AES-128 or AES-256.
    if cipher_id in (AES_128_GCM, AES_256_GCM):
        return AESGCM(key), 12
    if cipher_id in (AES_128_CCM, AES_256_CCM):
        return AESCCM(key), 11
    raise ValueError(f"unsupported cipher id {cipher_id:#x}")


def encrypt(keys: SessionKeys, cipher_id: int, session_id: int, message: bytes) -> bytes:
    """Wrap a plaintext SMB2 message in a transform header (MS-SMB2 2.2.41, 3.1.4.3).

    The AEAD's associated data is the transform header from Nonce on (32
    bytes); its tag is the header's Signature.
    """
    aead, nonce_len = _aead(cipher_id, keys.encrypt)
    nonce = os.urandom(nonce_len)
    aad = nonce.ljust(16, b"\x00") + struct.pack("<IHHQ", len(message), 0, 1, session_id)
    sealed = aead.encrypt(nonce, message, aad)
    return TRANSFORM_PROTOCOL_ID + sealed[-16:] + aad + sealed[:-16]


class DecryptError(Exception):
    """A transform message that does not decrypt with this session's key."""


def transform_session_id(frame: bytes | bytearray | memoryview) -> int:
    return struct.unpack_from("<Q", frame, 44)[0]


def decrypt(keys: SessionKeys, cipher_id: int, frame: bytes | bytearray | memoryview) -> bytes:
    """Open a transform message from the client (MS-SMB2 3.3.5.2.1)."""
    if len(frame) < TRANSFORM_HEADER_SIZE:
        raise DecryptError("transform header too short")
    aead, nonce_len = _aead(cipher_id, keys.decrypt)
    view = memoryview(frame)
    tag = bytes(view[4:20])
    aad = bytes(view[20:52])
    size = struct.unpack_from("<I", aad, 16)[0]
    body = view[52:]
    if len(body) != size:
        raise DecryptError("transform OriginalMessageSize does not match the payload")
    try:
        return aead.decrypt(aad[:nonce_len], bytes(body) + tag, aad)
    except Exception as exc:  # InvalidTag
        raise DecryptError("transform message failed authentication") from exc


def preauth_update(previous: bytes, message: bytes | bytearray | memoryview) -> bytes:
    """One step of the SHA-512 pre-authentication integrity hash (MS-SMB2 3.3.5.4)."""
    return hashlib.sha512(bytes(previous) + bytes(message)).digest()
