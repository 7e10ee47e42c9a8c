"""A deterministic RSA-2048 certificate per seed, so a simulated run is identical byte for byte.

The thumbprint appears in backup records and reports; a freshly generated key would change it
on every run. Primes come from a seeded generator and a Miller-Rabin test; the certificate's
serial number and dates are fixed, and RSA PKCS#1 v1.5 signing is deterministic.
This is for simulations only: real certificates come from ``ibs cert new``.
"""

from __future__ import annotations

import datetime as dt
import functools
import random

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


def _probably_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int, e: int) -> int:
    while True:
        # Top two bits set so p*q has exactly 2*bits bits.
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % e and _probably_prime(candidate, rng):
            return candidate


@functools.lru_cache(maxsize=8)
def cert_pair(seed: str, password: str = "simulated-pfx") -> tuple[bytes, bytes, str]:
    """(.cer DER, .pfx, password) for ``seed``; the same seed always gives the same bytes."""
    rng = random.Random(f"ibs-sim-cert:{seed}")
    e = 65537
    while True:
        p, q = _prime(rng, 1024, e), _prime(rng, 1024, e)
        if p != q and (p * q).bit_length() == 2048:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q), public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    key = numbers.private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Simulated hub backup {seed}")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(rng.getrandbits(64) | 1)
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    pfx = pkcs12.serialize_key_and_certificates(
        b"sim", key, cert, None, serialization.BestAvailableEncryption(password.encode()))
    return cert.public_bytes(serialization.Encoding.DER), pfx, password
