"""A PKCS#12 (.pfx) file whose bytes depend only on its inputs (RFC 7292, RFC 8018).

OpenSSL, and so ``cryptography``, draws fresh salts and IVs for every PFX it writes; a
simulated PFX made twice would then differ, and the leak checks (scenarios/secrets.py), which
derive the PFX again in another process or after a cache eviction, would look for bytes the run
never used. Here the salts and the IV come from the caller. Fixed salts would be a weakness for
a real key; a simulated key is published with the package anyway (simulator/certificates.py).

The layout is what OpenSSL writes and reads: the certificate in a plain bag, the key in a
PBES2 shrouded bag (PBKDF2-HMAC-SHA256, AES-256-CBC), and an HMAC-SHA256 over both with the
PKCS#12 key derivation (RFC 7292 appendix B).
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ITERATIONS = 2048  # OpenSSL's default for both the key and the MAC

_DATA = "1.2.840.113549.1.7.1"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_X509_CERT = "1.2.840.113549.1.9.22.1"
_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_HMAC_SHA256 = "1.2.840.113549.2.9"
_AES256_CBC = "2.16.840.1.101.3.4.1.42"
_SHA256 = "2.16.840.1.101.3.4.2.1"


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _set(*parts: bytes) -> bytes:
    return _tlv(0x31, b"".join(parts))


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _int(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _explicit0(body: bytes) -> bytes:
    return _tlv(0xA0, body)


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _algorithm(oid: str, params: bytes = b"\x05\x00") -> bytes:
    return _seq(_oid(oid), params)


def _data(content: bytes) -> bytes:
    return _seq(_oid(_DATA), _explicit0(_octets(content)))


@functools.lru_cache(maxsize=256)  # pure; a simulation reuses a few salts (certificates.py)
def _pkcs12_mac_key(password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 B.2 for ID 3 (the MAC key) with SHA-256; its first 32-byte block is the key."""
    block = 64  # SHA-256's input block, v in the RFC

    def stretch(data: bytes) -> bytes:
        n = block * -(-len(data) // block)
        return (data * (n // len(data) + 1))[:n]

    secret = password.encode("utf-16-be") + b"\x00\x00"  # a BMPString with its terminator
    a = hashlib.sha256(bytes([3]) * block + stretch(salt) + stretch(secret)).digest()
    for _ in range(iterations - 1):
        a = hashlib.sha256(a).digest()
    return a


@functools.lru_cache(maxsize=256)  # pure, as _pkcs12_mac_key
def _pbkdf2(password: str, salt: bytes) -> bytes:
    # PBES2 inside PKCS#12 takes the password as UTF-8 bytes (OpenSSL), not as a BMPString.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS, 32)


def deterministic_pfx(key: rsa.RSAPrivateKey, cert_der: bytes, password: str,
                      salt: bytes) -> bytes:
    """A password-protected PFX holding ``key`` and its certificate. ``salt``, 32 bytes, gives
    the key's salt, the MAC's salt and the IV, so equal inputs give equal bytes."""
    if len(salt) != 32:
        raise ValueError(f"the PFX salt must be 32 bytes, not {len(salt)}")
    key_salt, mac_salt, iv = salt[:8], salt[8:16], salt[16:]
    local_key_id = _set(_seq(_oid(_LOCAL_KEY_ID),
                             _set(_octets(hashlib.sha1(cert_der, usedforsecurity=False).digest()))))

    cert_bag = _seq(_oid(_CERT_BAG), _explicit0(_seq(_oid(_X509_CERT),
                                                     _explicit0(_octets(cert_der)))), local_key_id)

    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    aes_key = _pbkdf2(password, key_salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(pkcs8) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    pbes2 = _algorithm(_PBES2, _seq(
        _algorithm(_PBKDF2, _seq(_octets(key_salt), _int(ITERATIONS), _algorithm(_HMAC_SHA256))),
        _algorithm(_AES256_CBC, _octets(iv))))
    key_bag = _seq(_oid(_SHROUDED_KEY_BAG), _explicit0(_seq(pbes2, _octets(encrypted))),
                   local_key_id)

    auth_safe = _seq(_data(_seq(cert_bag)), _data(_seq(key_bag)))
    mac = hmac.new(_pkcs12_mac_key(password, mac_salt, ITERATIONS), auth_safe,
                   hashlib.sha256).digest()
    mac_data = _seq(_seq(_algorithm(_SHA256), _octets(mac)), _octets(mac_salt), _int(ITERATIONS))
    return _seq(_int(3), _data(auth_safe), mac_data)
