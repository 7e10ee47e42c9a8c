"""Key handling for one backup: the data key, its RSA-OAEP wrapping, and derived subkeys.

Every backup has a fresh 256-bit data key from the OS's CSPRNG (never from a seeded source,
even in simulation). It is wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256) under the encryption
certificate's public key, with the backup id in the OAEP label so a wrapped key cannot be
moved to another backup. Subkeys come from HKDF-SHA256 (RFC 5869) with the backup id as salt,
so no key is used for two purposes and nonces can be counters (docs/FORMAT.md, Keys).
"""

from __future__ import annotations

import hashlib
import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from ibs.engine.certs import Certificate, DecryptionKey
from ibs.engine.errors import IntegrityError

DATA_KEY_BYTES = 32
OAEP_LABEL_PREFIX = b"IBS1 data key "


def new_data_key() -> bytes:
    return os.urandom(DATA_KEY_BYTES)


# Immutable, so made once: each backup only needs its own label.
_SHA256 = hashes.SHA256()
_MGF1 = padding.MGF1(algorithm=_SHA256)


def _oaep(backup_id: uuid.UUID) -> padding.OAEP:
    return padding.OAEP(mgf=_MGF1, algorithm=_SHA256, label=OAEP_LABEL_PREFIX + backup_id.bytes)


def wrap(cert: Certificate, data_key: bytes, backup_id: uuid.UUID) -> bytes:
    return cert.public_key.encrypt(data_key, _oaep(backup_id))


def unwrap(key: DecryptionKey, wrapped: bytes, backup_id: uuid.UUID) -> bytes:
    try:
        data_key = key.private_key.decrypt(wrapped, _oaep(backup_id))
    except ValueError:
        raise IntegrityError(
            f"backup {backup_id}: the wrapped data key does not decrypt with this PFX "
            "(the key was altered, or belongs to another backup)"
        ) from None
    if len(data_key) != DATA_KEY_BYTES:
        raise IntegrityError(f"backup {backup_id}: the wrapped data key has the wrong length")
    return data_key


def derive(data_key: bytes, backup_id: uuid.UUID, purpose: str) -> bytes:
    """A 256-bit subkey for ``purpose`` (``"manifest"`` or ``"role/<NAME>"``).

    HKDF-SHA256 (RFC 5869) written out: extract, then the one expand block 32 bytes take.
    ``cryptography``'s HKDF gives the same bytes (tests/engine/test_keys.py) at five times the
    cost, which a backup pays once per role.
    """
    return expand(extract(data_key, backup_id), purpose)


def extract(data_key: bytes, backup_id: uuid.UUID) -> bytes:
    """HKDF's extract step for one backup: what ``expand`` turns into each subkey (a writer
    takes it once for the backup's eleven subkeys)."""
    return hmac_sha256(backup_id.bytes, data_key)


def expand(prk: bytes, purpose: str) -> bytes:
    """HKDF's expand step: the 32-byte subkey for ``purpose`` from ``extract``'s key."""
    return Subkeys(prk).expand(purpose)


class Subkeys:
    """``expand`` for one key, HMAC's two keyed hashes taken once: a backup expands its key
    into eleven subkeys, and hashing the padded key blocks again was a third of each. Held by
    the one backup's writer, so nothing derived from its key outlives the backup."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, prk: bytes) -> None:
        block = _block(prk)
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def expand(self, purpose: str) -> bytes:
        inner = self._inner.copy()
        inner.update(b"IBS1 " + purpose.encode("ascii") + b"\x01")
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_BLOCK = 64  # SHA-256's block, in bytes
# bytes.translate tables: every byte of the key XORed with HMAC's inner and outer pads.
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def _block(key: bytes) -> bytes:
    """HMAC's key as one SHA-256 block (hashed if longer, then padded with zeros)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    return key.ljust(_BLOCK, b"\0")


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) as its two SHA-256 hashes. ``hmac.digest`` gives the same bytes
    (tests/engine/test_keys.py) at three times the cost for a short message: OpenSSL 3 looks
    the digest up by name at every call, and a backup takes a dozen HMACs (its subkeys, its
    manifest's MAC)."""
    block = _block(key)
    inner = hashlib.sha256(block.translate(_IPAD) + message).digest()
    return hashlib.sha256(block.translate(_OPAD) + inner).digest()
